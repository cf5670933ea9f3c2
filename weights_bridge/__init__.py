"""Bridge between paddle_conv and the upstream PyTorch projects.

``weights_bridge.references`` holds PyTorch reference models whose ``state_dict`` layout equals the
upstream projects', each registered under its paddle_conv model's name (``create_reference("oct_resnet50")``
pairs with ``create_model("oct_resnet50")``); the other modules convert, read and check weights.
"""

from .checkpoint import read_checkpoint
from .convert import (
                      Conversion,
                      KeyMapping,
                      convert_state,
                      paddle_to_torch,
                      torch_to_paddle,
                      unwrap_state_dict,
)
from .keras_cct import keras_to_paddle
from .references import create_reference, list_references

__all__ = ["Conversion", "KeyMapping", "convert_state", "create_reference", "keras_to_paddle", "list_references",
           "paddle_to_torch", "read_checkpoint", "torch_to_paddle", "unwrap_state_dict"]
