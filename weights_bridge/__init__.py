"""Bridge between paddle_conv and the upstream PyTorch projects.

``weights_bridge.references`` holds PyTorch reference models whose ``state_dict`` layout
equals the upstream projects'; each is registered under the same name as its paddle_conv
model, so ``create_reference("oct_resnet50")`` pairs with ``create_model("oct_resnet50")``.

``torch_to_paddle`` / ``paddle_to_torch`` convert state dicts (see :mod:`weights_bridge.convert`);
:func:`keras_to_paddle` reads Keras 3 ``.weights.h5`` files (:mod:`weights_bridge.keras_cct`);
:mod:`weights_bridge.parity` proves a converted model computes what its reference computes.
"""

from .convert import KeyMapping, paddle_to_torch, register_key_mapping, torch_to_paddle, unwrap_state_dict
from .keras_cct import keras_to_paddle
from .references import create_reference, list_references

__all__ = ["KeyMapping", "create_reference", "keras_to_paddle", "list_references", "paddle_to_torch",
           "register_key_mapping", "torch_to_paddle", "unwrap_state_dict"]
