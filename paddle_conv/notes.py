"""One-line ``note:`` lines for settings accepted but acting differently here (``--check`` reports them)."""

import sys

from .cli import one_line

#: ``{key: text}`` of every note given in this process, in order.
NOTES = {}


def note_once(key, text):
    """Print ``note: key: text`` on stderr once per ``key`` and record it in :data:`NOTES`."""
    if key in NOTES:
        return
    NOTES[key] = text
    print(f"note: {one_line(f'{key}: {text}')}", file=sys.stderr, flush=True)  # a path in it cannot break the line
