"""``tools/train.py --check``: each leaf key of a config ``implemented``, ``warned`` (the note says how it acts
here) or ``refused`` (the reason names the fix); a refused key is removed and the config validated again."""

import copy
import os
import re
from collections import Counter

from ..errors import PaddleConvError
from ..notes import NOTES
from .load import read_config, validate_config

#: Stop collecting refusals after this many (a file of another kind refuses everything).
MAX_REFUSALS = 40


class CheckReport:
    """``rows``: ``[(key_path, status, detail)]``; ``refused``: ``[(key_path, reason)]``."""

    def __init__(self, source, rows, refused):
        self.source, self.rows, self.refused = source, rows, refused

    @property
    def ok(self):
        return not self.refused

    def format(self):
        width = max((len(k) for k, _, _ in self.rows), default=10)
        lines = [f"{key:<{width}}  {status:<11}  {detail}".rstrip() for key, status, detail in self.rows]
        counts = Counter(status for _, status, _ in self.rows)
        verdict = "would train" if self.ok else f"would NOT train ({len(self.refused)} refused)"
        lines.append(f"{self.source}: {counts['implemented']} implemented, {counts['warned']} warned, "
                     f"{counts['refused']} refused: {verdict}")
        return "\n".join(lines)


def _parts(key_path):
    """``"A.b[2].C.d"`` -> ``["A", "b", 2, "C", "d"]``."""
    parts = []
    for piece in key_path.split("."):
        match = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", piece)
        if match.group(1):
            parts.append(match.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return parts


def _remove(cfg, key_path):
    """Delete ``key_path`` from ``cfg``; False when it is not there."""
    parent, node, parts = None, cfg, _parts(key_path)
    for part in parts:
        if not (isinstance(node, dict) and part in node
                or isinstance(node, list) and isinstance(part, int) and part < len(node)):
            return False
        parent, node = node, node[part]
    if parent is not None:
        del parent[parts[-1]]
    return parent is not None


def _leaves(value, path=""):
    """``[key_path]`` of every leaf; ``{Name: {args}}`` list entries give ``path[i].Name.arg``."""
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list) and value and all(isinstance(e, dict) for e in value):
        return [leaf for i, entry in enumerate(value) for leaf in _leaves(entry, f"{path}[{i}]")]
    return [path]


def _under(key, prefix):
    return key == prefix or key.startswith(prefix + ".") or key.startswith(prefix + "[")


def _refused_key(exc, source):
    """``(key_path, reason)`` of a ConfigError; a value check's list index ``.1.`` becomes ``[1]``."""
    text = str(exc).split(f"{source}: ", 1)[-1]
    key = getattr(exc, "key_path", "") or ""
    if not key and re.match(r"^[A-Z][\w.]*: ", text):
        key = re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", text.split(": ", 1)[0])
        text = key + text[text.index(": "):]
    reason = text[len(key) + 2:] if key and text.startswith(key + ": ") else text
    return key, reason


def _refusals(source, raw, schema, environment_notes):
    """``[(key_path, reason)]``: validate as training does, remove the refused key, validate again."""
    work, refused = copy.deepcopy(raw), []
    while len(refused) < MAX_REFUSALS:
        try:
            cfg = validate_config(copy.deepcopy(work), source, schema)
        except PaddleConvError as exc:
            key, reason = _refused_key(exc, source)
            if any(k == key for k, _ in refused):  # a value check of the key just removed
                break
            refused.append((key or "(config)", reason))
            if not key or not _remove(work, key):
                break
            continue
        if environment_notes is not None:
            environment_notes(cfg)
        break
    return refused


def check_config(path, overrides=(), schema=None, environment_notes=None):
    """The :class:`CheckReport` of config ``path`` with ``overrides`` (``environment_notes(cfg)``: this machine's)."""
    NOTES.clear()
    raw = read_config(path, overrides, schema)
    source = os.fspath(path)
    refused = _refusals(source, raw, schema, environment_notes)
    rows = []
    for key in _leaves(raw):
        reason = next((r for k, r in refused if _under(key, k)), None)
        note = next((t for k, t in NOTES.items() if _under(key, k)), None)
        if reason is not None:
            rows.append((key, "refused", reason))
        elif note is not None:
            rows.append((key, "warned", note))
        else:
            rows.append((key, "implemented", ""))
    listed = {k for k, _, _ in rows}
    for k, reason in refused:  # refusals of keys the file lacks (a missing section, ...)
        if not any(_under(key, k) for key in listed):
            rows.append((k, "refused", reason))
    return CheckReport(source, rows, refused)
