"""ssd_lite: registered, taps the backbone at the asked strides, priors match its head outputs."""

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.det import detect, prior_boxes
from paddle_conv.errors import ConfigError
from paddle_conv.losses import MultiBoxLoss


def test_ssd_lite_mobilenet_shapes_and_loss():
    model = pc.create_model("ssd_lite", num_classes=4, backbone="mobilenet_v1", backbone_kwargs={"scale": 0.25},
                            input_size=64, strides=(8, 16, 32), extra_channels=(32,))
    assert "ssd_lite" in pc.list_models()
    assert model._tap_names == ["conv4_1", "conv5_5", "conv6"]
    cfg = model.prior_config
    assert cfg["feature_maps"] == [8, 4, 2, 1]
    num = 8 * 8 * 4 + 4 * 4 * 6 + 2 * 2 * 6 + 1 * 4
    loc, conf, priors = model(paddle.randn([2, 3, 64, 64]))
    assert loc.shape == [2, num, 4] and conf.shape == [2, num, 4] and priors.shape == [num, 4]
    np.testing.assert_allclose(priors.numpy(), prior_boxes(cfg).numpy())
    targets = [np.array([[0.1, 0.1, 0.5, 0.6, 2]], "float32"), np.zeros((0, 5), "float32")]
    loss_l, loss_c = MultiBoxLoss(num_classes=4)((loc, conf, priors), targets)
    (loss_l + loss_c).backward()
    assert model.loc_heads[0][1].weight.grad is not None
    model.eval()
    dets = detect(*model(paddle.randn([1, 3, 64, 64])), top_k=5)
    assert dets[0].shape[1] == 6 and len(dets[0]) <= 5


def test_ssd_lite_on_oct_mobilenet():
    model = pc.create_model("ssd_lite", num_classes=3, backbone="oct_mobilenet", input_size=64, strides=(16, 32),
                            extra_channels=())
    loc, conf, priors = model(paddle.randn([1, 3, 64, 64]))
    assert model.prior_config["feature_maps"] == [4, 2]
    assert conf.shape == [1, priors.shape[0], 3]


def test_ssd_lite_errors():
    with pytest.raises(ConfigError, match="stride 64"):
        pc.create_model("ssd_lite", backbone_kwargs={"scale": 0.25}, input_size=64, strides=(64,))
    with pytest.raises(ConfigError, match="32 to 300"):
        pc.create_model("ssd_lite", input_size=512)
    model = pc.create_model("ssd_lite", backbone_kwargs={"scale": 0.25}, input_size=64, extra_channels=())
    with pytest.raises(ConfigError, match="built for 64x64"):
        model(paddle.randn([1, 3, 96, 96]))
