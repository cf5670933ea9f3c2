"""The layer-by-layer locator names the first layer whose output differs."""

import numpy as np
import paddle
import pytest

from weights_bridge import parity

X = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype("float32")


@pytest.fixture(scope="module")
def pair():
    return parity.model_pair("oct_mobilenet", seed=2, sample=X, num_classes=10)


def test_no_difference_no_layer(pair):
    assert parity.locate_divergence(*pair, X, "oct_mobilenet") is None


def test_changed_weight_is_named(pair):
    torch_model, paddle_model = pair
    weight = dict(paddle_model.named_parameters())["features.7.1.conv.conv_l2h.weight"]
    original = weight.numpy()
    try:
        weight.set_value(original * 1.001)
        found = parity.locate_divergence(torch_model, paddle_model, X, "oct_mobilenet")
        assert found is not None and found.name == "features.7.1.conv.conv_l2h"
        assert "conv_l2h" in str(found) and "Conv2D" in str(found)
        report = parity.check_parity(torch_model, paddle_model, X, "oct_mobilenet")
        assert not report.ok and report.divergence.name == "features.7.1.conv.conv_l2h"
        assert "first differing layer: 'features.7.1.conv.conv_l2h'" in report.summary()
    finally:
        weight.set_value(original)
    assert parity.check_parity(torch_model, paddle_model, X, "oct_mobilenet", train=False).ok


def test_changed_parameter_free_layer_is_named(pair):
    torch_model, paddle_model = pair
    block = paddle_model.features[5][0]
    original = block.act
    try:
        block.act = paddle.nn.LeakyReLU(0.01)  # same everywhere except on negative inputs
        found = parity.locate_divergence(torch_model, paddle_model, X, "oct_mobilenet", train=True)
        assert found is not None and (found.name, found.call) == ("features.5.0.act", 0)
    finally:
        block.act = original
