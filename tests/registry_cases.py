"""Per-model test cases read from the registry and the cards, so that a new family is tested without
editing a list: one representative per family (the module registering it), its small instance."""

from collections import namedtuple

from paddle_conv.registry import MODELS, list_models, model_card

#: A family's representative: builder arguments, input ``[N, C, H, W]`` and export input (None: free).
Case = namedtuple("Case", "family name kwargs shape spec")


def family_of(name):
    """The module that registers model ``name`` (its family)."""
    return MODELS.get(name).__module__.rsplit(".", 1)[-1]


def representative(names):
    """The family's model whose card has a ``quick_check`` instance, else its first registered."""
    return next((n for n in names if model_card(n).quick_check), names[0])


def family_cases():
    """One :class:`Case` per family of :func:`list_models`, from the representative's card: its ``quick_check``
    (builder arguments, input size, whether an export needs a fixed size), else a 32x32 classifier input or
    the detector's own size."""
    families = {}
    for name in list_models():
        families.setdefault(family_of(name), []).append(name)
    cases = []
    for family, names in sorted(families.items()):
        name = representative(names)
        card = model_card(name)
        check = card.quick_check or {}
        size = tuple(check.get("input_size", card.input_size if card.task == "detection" else (card.input_size[0], 32,
                                                                                                 32)))
        fixed = check.get("fixed_size", card.task == "detection")
        batch = 2 if size[1] * size[2] <= 64 * 64 else 1  # small inputs: the suite stays quick
        cases.append(Case(family, name, dict(check.get("kwargs", {})), [batch, *size],
                          [None, size[0], *(size[1:] if fixed else (None, None))]))
    return cases
