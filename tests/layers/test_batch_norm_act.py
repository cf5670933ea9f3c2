import numpy as np
import paddle
import paddle.nn as nn
import pytest

from paddle_conv.layers import batch_norm_act as module
from paddle_conv.layers.batch_norm_act import batch_norm_act, takes_native_batch_norm
from paddle_conv.layers.octconv import Conv_BN_ACT

needs_operator = pytest.mark.skipif(not module.batch_norm_relu_built(), reason="no C++ compiler here (or "
                                    "PADDLE_CONV_NATIVE_OPS=0): the batch norm operator is not built")


def twin_norms(channels, seed=0):
    """Two BatchNorm2D with the same random scale and shift (and fresh running statistics)."""
    rng = np.random.default_rng(seed)
    scale, shift = rng.uniform(0.5, 1.5, channels).astype("float32"), rng.standard_normal(channels).astype("float32")
    norms = [nn.BatchNorm2D(channels, momentum=0.8, epsilon=1e-3) for _ in range(2)]
    for bn in norms:
        bn.weight.set_value(paddle.to_tensor(scale))
        bn.bias.set_value(paddle.to_tensor(shift))
    return norms


def run(fn, bn, x, upstream):
    a = x.detach()
    a.stop_gradient = False
    y = fn(a)
    (y * upstream).sum().backward()
    return [y.numpy(), a.grad.numpy(), bn.weight.grad.numpy(), bn.bias.grad.numpy(), bn._mean.numpy(),
            bn._variance.numpy()]


# [N, C, H, W]: a plane shorter than the 16 lanes, odd sizes, one split over two threads
@needs_operator
@pytest.mark.parametrize("shape", [(2, 3, 3, 3), (3, 5, 7, 9), (4, 16, 40, 40)])
@pytest.mark.parametrize("act", [nn.ReLU, nn.Identity])
def test_equals_paddles_batch_norm_and_activation(monkeypatch, shape, act):
    monkeypatch.setattr(module, "_threads", lambda: 2)
    ours_bn, paddle_bn = twin_norms(shape[1])
    x = paddle.randn(shape) * 3 + 1
    upstream = paddle.randn(shape)
    assert takes_native_batch_norm(ours_bn, x, act())
    for _ in range(2):  # the running statistics move twice
        ours = run(lambda a: batch_norm_act(ours_bn, a, act()), ours_bn, x, upstream)
        want = run(lambda a: act()(paddle_bn(a)), paddle_bn, x, upstream)
        for name, got, ref in zip(["y", "x.grad", "scale.grad", "bias.grad", "mean", "variance"], ours, want):
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * (1 + np.abs(ref).max()), err_msg=name)


def test_other_norms_activations_modes_and_dtypes_keep_paddles_layers():
    bn, x = nn.BatchNorm2D(3), paddle.randn([2, 3, 4, 4])
    assert not takes_native_batch_norm(bn, x, nn.GELU())
    assert not takes_native_batch_norm(nn.BatchNorm2D(3, use_global_stats=True), x, nn.ReLU())
    assert not takes_native_batch_norm(nn.BatchNorm2D(3, data_format="NHWC"), x, nn.ReLU())
    assert not takes_native_batch_norm(nn.BatchNorm2D(3, weight_attr=False, bias_attr=False), x, nn.ReLU())
    assert not takes_native_batch_norm(bn, x.astype("float64"), nn.ReLU())
    bn.eval()
    assert not takes_native_batch_norm(bn, x, nn.ReLU())
    np.testing.assert_array_equal(batch_norm_act(bn, x, nn.ReLU()).numpy(), nn.ReLU()(bn(x)).numpy())


@needs_operator
def test_octave_conv_bn_act_takes_the_operator_in_training(monkeypatch):
    calls = []
    monkeypatch.setattr(module, "_native", lambda bn, x, relu: calls.append(relu) or nn.ReLU()(bn(x)))
    layer = Conv_BN_ACT(8, 8, 3, padding=1)
    layer((paddle.randn([2, 4, 6, 6]), paddle.randn([2, 4, 3, 3])))
    assert calls == [True, True]
    layer.eval()
    layer((paddle.randn([2, 4, 6, 6]), paddle.randn([2, 4, 3, 3])))
    assert calls == [True, True]
