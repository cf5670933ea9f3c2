"""Losses, registered by name for configs (``Loss: {Train: [{CELoss: {epsilon: 0.1}}]}``).

:func:`build_loss` turns a validated ``Loss.Train`` / ``Loss.Eval`` list into one layer that
sums the entries, each scaled by its optional ``weight`` (default 1.0).
"""

from ..registry import Registry

LOSSES = Registry("loss")
register_loss = LOSSES.register

from .celoss import CELoss, CombinedLoss, MixCELoss  # noqa: E402  (registers CELoss, MixCELoss)
from .multibox import KD_WEIGHTS, MultiBoxLoss, MultiBoxLoss_KD, kd_total  # noqa: E402  (they register)


def build_loss(entries):
    """A :class:`CombinedLoss` of ``[{Name: {weight: w, **kwargs}}, ...]``."""
    weighted = []
    for entry in entries:
        (name, kwargs), = entry.items()
        kwargs = dict(kwargs or {})
        weight = float(kwargs.pop("weight", 1.0))
        weighted.append((weight, LOSSES.build(name, **kwargs)))
    return CombinedLoss(weighted)


__all__ = [
    "CELoss",
    "CombinedLoss",
    "KD_WEIGHTS",
    "MixCELoss",
    "LOSSES",
    "MultiBoxLoss",
    "MultiBoxLoss_KD",
    "build_loss",
    "kd_total",
    "register_loss",
]
