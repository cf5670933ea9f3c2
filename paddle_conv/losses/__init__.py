"""Losses, registered by name for configs (``Loss: {Train: [{CELoss: {...}}]}``)."""

from ..registry import Registry

LOSSES = Registry("loss")
register_loss = LOSSES.register
