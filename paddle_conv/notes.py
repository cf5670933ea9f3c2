"""One-line notes for settings that are accepted but act differently here (nothing is silently ignored).

``note_once("Global.use_dali", "DALI is not used; the Paddle DataLoader reads the images")`` prints
``note: Global.use_dali: DALI is not used; ...`` on stderr the first time and records it in
:data:`NOTES`, which ``tools/train.py --check`` reports as "warned".
"""

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
