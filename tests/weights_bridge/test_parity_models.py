"""Number-for-number parity of every registered model that has a torch reference.

Per model, one test (the deep Oct-ResNets are heavy on 2 cores): random weights and random BN
statistics in the torch reference -> upstream-layout state dict -> Paddle; eval outputs (float32)
within rtol 1e-4, atol 1e-4 max|y|; train-mode outputs and the gradients of the input and of
every parameter after one backward, within the same tolerances in float64 (see
``check_parity(train_dtype=...)``: a random deep net's float32 train pass is chaotic); then
Paddle -> torch loads into the reference with strict=True and gives the same outputs, and
Paddle -> torch -> Paddle is bit-exact.
"""

import numpy as np
import paddle
import pytest
import torch

import weights_bridge as wb
from paddle_conv.registry import list_models
from weights_bridge import parity

INPUT_SIZE = 64  # smallest size where upstream's Oct-ResNet works and its pooling sees only even maps
# CCT models take a token grid of their own image size: tests/weights_bridge/test_cct_bridge.py
# checks every cct_* builder at that size; SSD300 takes 300x300: tests/weights_bridge/test_ssd300_bridge.py.
WITH_REFERENCE = sorted(n for n in set(list_models()) & set(wb.list_references())
                        if not n.startswith(("cct_", "ssd300")))


def test_octconv_family_is_covered():
    assert {"oct_mobilenet", "oct_resnet26", "oct_resnet50", "oct_resnet101", "oct_resnet152",
            "oct_resnet200"} <= set(WITH_REFERENCE)


@pytest.mark.parametrize("name", WITH_REFERENCE)
def test_parity(name):
    x = np.random.default_rng(0).standard_normal((2, 3, INPUT_SIZE, INPUT_SIZE)).astype("float32")
    torch_model, paddle_model = parity.model_pair(name, seed=1, sample=x, num_classes=10)
    report = parity.check_parity(torch_model, paddle_model, x, name, train_dtype="float64")
    print(f"{name}:\n{report.summary()}")
    assert report.ok, report.summary()
    assert len([d for d in report.diffs if d.name.startswith("grad param")]) == \
        len(list(torch_model.parameters()))

    # .pdparams -> .pth: strict load into the reference, same outputs
    back = wb.paddle_to_torch(paddle_model.state_dict(), name, num_classes=10)
    assert list(back) == list(torch_model.state_dict())
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
        for param in torch_model.parameters():
            param.zero_()  # the reference's values must all come from the converted file
        torch_model.load_state_dict(back, strict=True)
        assert np.array_equal(torch_model(torch.from_numpy(x)).numpy(), expected)
    with paddle.no_grad():
        assert parity.compare("paddle", expected, paddle_model(paddle.to_tensor(x)).numpy()).ok

    assert parity.round_trip_mismatches(paddle_model, torch_model, name) == []
