"""Every registered model has a torch reference and converts both ways, bit-exact.

A model registered without a reference fails ``test_every_registered_model_has_a_reference`` by name,
unless its card says it has none (``ModelCard.torch_reference=False``: its weights come from elsewhere);
a model whose card says so must have none.
"""

import numpy as np
import pytest
import torch

import weights_bridge as wb
from paddle_conv.registry import list_models, model_card
from weights_bridge.convert import build_paddle_skeleton, build_torch_skeleton

MODELS = list_models()



def test_every_registered_model_has_a_reference():
    references = set(wb.list_references())
    missing = sorted(n for n in MODELS if model_card(n).torch_reference and n not in references)
    assert not missing, (f"registered models without a torch reference: {', '.join(missing)}; register one "
                         "(weights_bridge/references/<family>_torch.py; the card's torch_keys where names differ) "
                         "or set torch_reference=False on the card")
    stale = sorted(n for n in MODELS if not model_card(n).torch_reference and n in references)
    assert not stale, f"the cards of {', '.join(stale)} say torch_reference=False, yet they have one"


@pytest.mark.parametrize("name", [n for n in MODELS if n in wb.list_references()])
def test_round_trip_is_bit_exact(name):
    """torch -> Paddle -> torch -> Paddle: every tensor equal, byte for byte, in both frameworks."""
    reference = build_torch_skeleton(name)
    paddle_model = build_paddle_skeleton(name)
    with torch.no_grad():  # BN statistics that are not the defaults, so a swap cannot go unnoticed
        for value in reference.state_dict().values():
            if value.dtype.is_floating_point:
                value.copy_(torch.rand(value.shape) + 0.5)
    original = reference.state_dict()
    kwargs = dict(torch_model=reference, paddle_model=paddle_model)
    paddle_state = wb.torch_to_paddle(original, name, **kwargs)
    assert list(paddle_state) == list(paddle_model.state_dict())
    back = wb.paddle_to_torch(paddle_state, name, **kwargs)
    assert list(back) == list(original)
    for key, value in original.items():
        if key.endswith("num_batches_tracked"):
            assert back[key].item() == 0
        else:
            assert back[key].dtype == value.dtype and torch.equal(back[key], value), key
    again = wb.torch_to_paddle(back, name, **kwargs)
    for key, value in paddle_state.items():
        a, b = value.numpy(), again[key].numpy()
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), key
    assert np.isfinite(sum(float(v.numpy().sum()) for v in paddle_state.values()))
