"""Bridge between paddle_conv and the upstream PyTorch projects: PyTorch references in the upstream state-dict
layouts, registered under the paddle_conv model names (``references``), and the modules that convert, read and
check weights."""

from .checkpoint import read_checkpoint
from .convert import Conversion, KeyMapping, convert_state, paddle_to_torch, torch_to_paddle, unwrap_state_dict
from .keras_cct import keras_to_paddle
from .references import create_reference, list_references

__all__ = ["Conversion", "KeyMapping", "convert_state", "create_reference", "keras_to_paddle", "list_references",
           "paddle_to_torch", "read_checkpoint", "torch_to_paddle", "unwrap_state_dict"]
