"""The paddle.vision architectures the RefConv seed refocuses: registered, refocused with zero
transforms they compute what they did, and reparameterized they are the original model again."""

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.build import build_model
from paddle_conv.config import load_config
from paddle_conv.layers import RefConv2D
from paddle_conv.refconv import refocus, reparameterize

SEED_MODELS = ["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "shufflenet_v2_x1_0", "resnet18",
               "resnet34", "resnet101", "densenet121"]


def _run(model, x):
    with paddle.no_grad():
        return model(x).numpy()


@pytest.mark.parametrize("name", SEED_MODELS)
def test_refocus_zero_then_reparameterize_gives_the_original_outputs(name):
    paddle.seed(0)
    model = pc.create_model(name, num_classes=10)
    model.eval()
    x = paddle.rand([1, 3, 32, 32])
    original = _run(model, x)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    tolerance = 1e-5 * np.abs(original).max()  # untrained nets' logits range from 1e-8 to 1e4
    assert tolerance > 0
    refocus(model, init="zero")
    assert sum(isinstance(m, RefConv2D) for m in model.sublayers()) > 5
    np.testing.assert_allclose(_run(model, x), original, rtol=0, atol=tolerance)
    reparameterize(model)
    assert {k: v.shape for k, v in model.state_dict().items()} == shapes
    np.testing.assert_allclose(_run(model, x), original, rtol=0, atol=tolerance)


def test_config_refocuses_mobilenet_v2(tmp_path):
    path = tmp_path / "c.yaml"
    text = open("configs/digits_quick.yaml", encoding="utf-8").read()
    path.write_text(text.replace("name: oct_mobilenet\n  class_num: 10\n  alpha: 0.5",
                                 "name: mobilenet_v2\n  class_num: 10\n  refocus: {init: xavier}"))
    cfg = load_config(str(path))
    assert cfg["Arch"]["refocus"]["init"] == "xavier" and cfg["Arch"]["refocus"]["basis"] == "frozen"
    model = build_model(cfg["Arch"])
    transforms = [m.convmap.weight for m in model.sublayers() if isinstance(m, RefConv2D)]
    assert transforms and all(float(w.abs().max()) > 0 for w in transforms)  # Xavier, not zero
