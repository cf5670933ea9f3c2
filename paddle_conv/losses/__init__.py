"""Losses, registered by name for configs (``Loss: {Train: [{CELoss: {...}}]}``)."""

from ..registry import Registry

LOSSES = Registry("loss")
register_loss = LOSSES.register

from .multibox import KD_WEIGHTS, MultiBoxLoss, MultiBoxLoss_KD, kd_total  # noqa: E402  (they register)

__all__ = ["KD_WEIGHTS", "LOSSES", "MultiBoxLoss", "MultiBoxLoss_KD", "kd_total", "register_loss"]
