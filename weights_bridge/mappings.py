"""A model's key renames to its torch reference: the ``torch_keys`` of its card
(:class:`paddle_conv.KeyMapping`, kept in the family's module beside its builders)."""

from paddle_conv.cards import KeyMapping
from paddle_conv.registry import MODELS

__all__ = ["IDENTITY", "KeyMapping", "key_mapping"]

IDENTITY = KeyMapping()


def key_mapping(model_name):
    """The :class:`KeyMapping` of the registered model ``model_name`` (identity names for any other name)."""
    return MODELS.card(model_name).torch_keys if model_name in MODELS else IDENTITY
