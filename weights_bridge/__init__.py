"""Bridge between paddle_conv and the upstream PyTorch projects.

``weights_bridge.references`` holds PyTorch reference models whose ``state_dict`` layout
equals the upstream projects'; each is registered under the same name as its paddle_conv
model, so ``create_reference("oct_resnet50")`` pairs with ``create_model("oct_resnet50")``.

``torch_to_paddle`` / ``paddle_to_torch`` convert state dicts (see :mod:`weights_bridge.convert`;
family name differences: each model card's ``torch_keys``), ``read_checkpoint`` reads published
checkpoint files (:mod:`weights_bridge.checkpoint`); ``keras_to_paddle`` reads Keras 3
``.weights.h5`` files of ``cct_keras_cifar`` (:mod:`weights_bridge.keras_cct`);
:mod:`weights_bridge.parity` proves a converted model computes what its reference computes.
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
