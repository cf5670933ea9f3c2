"""ssd300_vgg16: amdegroot's SSD300 (parameter count, 8732 VOC priors, SSDLite's output form);
``width`` gives a thinner SSD300 on the same priors; SSD300 takes 300x300 only."""

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.det import VOC_SSD300, detect, prior_boxes
from paddle_conv.errors import ConfigError
from paddle_conv.losses import MultiBoxLoss
from paddle_conv.models.ssd300 import L2Norm


def _count(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters())


def test_ssd300_vgg16_has_amdegroots_parameter_count():
    assert "ssd300_vgg16" in pc.list_models()
    with paddle.LazyGuard():
        model = pc.create_model("ssd300_vgg16")
    assert _count(model) == 26_285_486
    assert model.l2_norm.weight.shape == [512]
    assert [m.shape[0] for m in (h.weight for h in model.loc_heads)] == [16, 24, 24, 24, 16, 16]
    assert [m.shape[1] for m in (h.weight for h in model.loc_heads)] == [512, 1024, 512, 256, 256, 256]


def test_thin_ssd300_forward_loss_and_detect():
    model = pc.create_model("ssd300_vgg16", num_classes=4, width=0.125)
    np.testing.assert_allclose(float(model.l2_norm.weight.mean()), 20.0)
    loc, conf, priors = model(paddle.randn([2, 3, 300, 300]))
    assert loc.shape == [2, 8732, 4] and conf.shape == [2, 8732, 4] and priors.shape == [8732, 4]
    np.testing.assert_array_equal(priors.numpy(), prior_boxes(VOC_SSD300).numpy())
    targets = [np.array([[0.1, 0.1, 0.5, 0.6, 2]], "float32"), np.zeros((0, 5), "float32")]
    loss_l, loss_c = MultiBoxLoss(num_classes=4)((loc, conf, priors), targets)
    (loss_l + loss_c).backward()
    assert model.vgg[0].weight.grad is not None and model.l2_norm.weight.grad is not None
    model.eval()
    with paddle.no_grad():
        dets = detect(loc[:1], conf[:1], priors, top_k=5)
    assert dets[0].shape[1] == 6 and len(dets[0]) <= 5


def test_ssd300_refuses_other_sizes():
    with pytest.raises(ConfigError, match="300x300"):
        pc.create_model("ssd300_vgg16", input_size=256)
    with pytest.raises(ConfigError, match="width"):
        pc.create_model("ssd300_vgg16", width=0)
    with paddle.LazyGuard():
        model = pc.create_model("ssd300_vgg16", width=0.125)
    with pytest.raises(ConfigError, match="300x300"):
        model(paddle.zeros([1, 3, 64, 64]))


def test_l2norm_gradient_is_finite_where_a_position_is_all_zero():
    """Upstream's sqrt gives NaN there; the ReLU before it would hide the NaN weights as zeros."""
    x = paddle.to_tensor([[[[0.0, 1.0]], [[0.0, 2.0]], [[0.0, 0.0]], [[0.0, 3.0]]]], stop_gradient=False)
    layer = L2Norm(4, scale=20.0)
    out = layer(x)
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and np.isfinite(layer.weight.grad.numpy()).all()
    np.testing.assert_allclose(out.numpy()[0, :, 0, 1], 20 * np.array([1, 2, 0, 3]) / np.sqrt(14), rtol=1e-6)
    assert not out.numpy()[0, :, 0, 0].any()
