"""Losses, registered by name for configs (``Loss: {Train: [{CELoss: {epsilon: 0.1}}]}``)."""

from ..registry import LOSSES, register_loss
from .celoss import CELoss, CombinedLoss, MixCELoss  # noqa: E402  (registers CELoss, MixCELoss)
from .distillation_losses import (  # noqa: E402  (they register)
    DistillationCELoss,
    DistillationDISTLoss,
    DistillationDKDLoss,
    DistillationDMLLoss,
    DistillationGTCELoss,
    DistillationKLDivLoss,
    DistillationSKDLoss,
    DistillationWSLLoss,
    MemberLoss,
)
from .multibox import KD_WEIGHTS, MultiBoxLoss, MultiBoxLoss_KD, kd_total  # noqa: E402  (they register)
from .multilabel import MultiLabelLoss  # noqa: E402  (registers)


def build_loss(entries, member=None):
    """A :class:`CombinedLoss` of ``[{Name: {weight: w, **kwargs}}, ...]`` (``weight`` default 1.0); ``member``:
    the DistillationModel member that losses not reading members by name (``CELoss``, ...) apply to."""
    weighted = []
    for entry in entries:
        (name, kwargs), = entry.items()
        kwargs = dict(kwargs or {})
        weight = float(kwargs.pop("weight", 1.0))
        loss = LOSSES.build(name, **kwargs)
        if member is not None and not getattr(loss, "reads_members", False):
            loss = MemberLoss(loss, member)
        weighted.append((weight, loss))
    return CombinedLoss(weighted)


__all__ = ["CELoss", "CombinedLoss", "DistillationCELoss", "DistillationDISTLoss", "DistillationDKDLoss",
           "DistillationDMLLoss", "DistillationGTCELoss", "DistillationKLDivLoss", "DistillationSKDLoss",
           "DistillationWSLLoss", "KD_WEIGHTS", "MemberLoss", "MixCELoss", "LOSSES", "MultiBoxLoss", "MultiBoxLoss_KD",
           "MultiLabelLoss", "build_loss", "kd_total", "register_loss"]
