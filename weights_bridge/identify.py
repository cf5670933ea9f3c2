"""Which registered model a state dict belongs to, judged by its key names (``--inspect``)."""

from .convert import IDENTITY, key_mapping, reference_key_sets
from .references import REFERENCES

__all__ = ["best_matches"]


def _mapping(name):
    mapping = key_mapping(name)
    if mapping == IDENTITY:
        return "same names (Linear transposed, BN statistics renamed)"
    merged = f", {len(mapping.merged)} merged tensor pattern(s)" if mapping.merged else ""
    aliases = f", {len(mapping.aliases)} old-name alias(es)" if mapping.aliases else ""
    return f"{name}'s KeyMapping ({len(mapping.renames)} renames{merged}{aliases})"


def best_matches(state, side, top=2):
    """Up to ``top`` lines naming the references whose ``side`` (torch / paddle) key set overlaps ``state``'s most."""
    given = {k for k in state if not k.endswith("num_batches_tracked")}
    scored = []
    for name in REFERENCES.names():
        key_sets = reference_key_sets(name)
        if key_sets is None:
            continue
        expected = key_sets[side == "paddle"]
        named = given if side == "paddle" else {key_mapping(name).reference_key(k) for k in given}
        shared = len(named & expected)
        if shared:
            scored.append((shared / len(given | expected), name, shared, len(expected)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [f"{name} ({shared}/{expected} of its keys, {len(given) - shared} other keys in the file; "
            f"mapping: {_mapping(name)})" for _, name, shared, expected in scored[:top]]
