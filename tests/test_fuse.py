import numpy as np
import paddle
import paddle.nn as nn
import pytest
from paddle.vision.models import resnet18

import paddle_conv as pc
from paddle_conv.errors import ConfigError
from paddle_conv.layers import Conv_BN, Conv_BN_ACT


def _randomize_norms(model, seed=0):
    """Give every BatchNorm2D non-trivial statistics and affine parameters (a trained model's)."""
    rng = np.random.default_rng(seed)
    for layer in model.sublayers():
        if isinstance(layer, nn.BatchNorm2D):
            c = layer._mean.shape[0]
            layer._mean.set_value(rng.normal(0, 0.5, c).astype(np.float32))
            layer._variance.set_value(rng.uniform(0.5, 2.0, c).astype(np.float32))
            layer.weight.set_value(rng.uniform(0.5, 1.5, c).astype(np.float32))
            layer.bias.set_value(rng.normal(0, 0.5, c).astype(np.float32))
    return model


def _max_rel_diff(a, b):
    return float(np.abs(a - b).max() / np.abs(a).max())


def _outputs(model, x):
    with paddle.no_grad():
        out = model(x)
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,)) if o is not None]


@pytest.mark.parametrize("block", [Conv_BN, Conv_BN_ACT])
@pytest.mark.parametrize("alpha_in,alpha_out,stride", [(0, 0.5, 1), (0.5, 0.5, 1), (0.5, 0.5, 2), (0.5, 0, 1),
                                                       (0.25, 0.75, 2)])
def test_octave_block_fuses_exactly(block, alpha_in, alpha_out, stride):
    layer = _randomize_norms(block(16, 24, 3, alpha_in=alpha_in, alpha_out=alpha_out, stride=stride, padding=1))
    layer.eval()
    lo = int(alpha_in * 16)
    x_h = paddle.randn([2, 16 - lo, 11, 9])
    x = (x_h, paddle.randn([2, lo, 6, 5])) if lo else x_h
    # fuse probes with one tensor: a block with a low input is fused inside a wrapper that makes x_l
    fused = pc.fuse(_TupleInput(layer, lo), input_shape=[2, 16, 11, 9]).inner if lo else pc.fuse(layer)
    for want, got in zip(_outputs(layer, x), _outputs(fused, x)):
        assert _max_rel_diff(want, got) < 1e-5
    assert not any(isinstance(s, nn.BatchNorm2D) for s in fused.sublayers())


class _TupleInput(nn.Layer):
    """Feeds a plain tensor to an octave block with a low input: channels [lo:] pooled form x_l."""

    def __init__(self, inner, lo):
        super().__init__()
        self.inner, self.lo = inner, lo

    def forward(self, x):
        x_h = x[:, self.lo:]
        x_l = nn.functional.avg_pool2d(x[:, : self.lo], 2, 2, ceil_mode=True)
        return self.inner((x_h, x_l))


@pytest.mark.parametrize("name", ["oct_resnet26", "oct_mobilenet", "mobilenet_v1"])
def test_models_fuse_exactly_and_originals_untouched(name):
    model = _randomize_norms(pc.create_model(name, num_classes=10))
    model.train()
    x = paddle.randn([2, 3, 40, 40])
    fused = pc.fuse(model)
    assert model.training and not fused.training
    assert not any(isinstance(s, nn.BatchNorm2D) for s in fused.sublayers())
    assert any(isinstance(s, nn.BatchNorm2D) for s in model.sublayers())
    model.eval()
    assert _max_rel_diff(_outputs(model, x)[0], _outputs(fused, x)[0]) < 1e-5


def test_plain_resnet_with_attribute_pairs_fuses():
    model = _randomize_norms(resnet18(num_classes=10))
    fused = pc.fuse(model)
    model.eval()
    x = paddle.randn([1, 3, 48, 48])
    assert _max_rel_diff(_outputs(model, x)[0], _outputs(fused, x)[0]) < 1e-5
    assert not any(isinstance(s, nn.BatchNorm2D) for s in fused.sublayers())


class _ReusesConvOutput(nn.Layer):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2D(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2D(4)

    def forward(self, x):
        y = self.conv(x)
        return self.bn(y) + y


def test_refuses_model_that_reuses_the_conv_output():
    with pytest.raises(ConfigError, match="besides its BatchNorm"):
        pc.fuse(_randomize_norms(_ReusesConvOutput()))
