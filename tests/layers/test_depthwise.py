import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from paddle_conv.layers import DepthwiseConv2D, DepthwiseSeparableConv, depthwise, depthwise_conv2d, onednn_conv
from paddle_conv.layers.depthwise import MAX_MATMUL_PIXELS, MIN_ONEDNN_PIXELS, takes_matmul_form, takes_onednn_form
from tests.layers.conv_parity import assert_matches_conv2d, conv_gradients

needs_operator = pytest.mark.skipif(onednn_conv.native_conv2d_op() is None, reason="the oneDNN operator is not "
                                    "built here (no compiler or headers, or PADDLE_CONV_NATIVE_OPS=0)")

# (channels, height, width, kernel, stride, padding, dilation): strides 1/2, dilation, asymmetric
# padding, a 5x5 kernel, odd sizes, a 1x1 map
CASES = [
    (8, 5, 7, 3, 1, 1, 1),
    (6, 8, 8, 3, 2, 1, 1),
    (4, 6, 6, 3, 1, 2, 2),
    (4, 7, 5, 3, 2, [1, 2, 0, 1], 1),
    (5, 4, 4, 5, 1, 2, 1),
    (16, 1, 1, 3, 1, 1, 1),
]


@pytest.mark.parametrize("channels,height,width,kernel,stride,padding,dilation", CASES)
def test_matmul_form_equals_conv2d_forward_and_gradients(channels, height, width, kernel, stride, padding, dilation,
                                                         monkeypatch):
    monkeypatch.setattr(depthwise, "native_conv2d_op", lambda: None)  # the operator off
    x = paddle.randn([3, channels, height, width])
    weight, bias = paddle.randn([channels, 1, kernel, kernel]), paddle.randn([channels])
    assert takes_matmul_form(x, weight, channels)  # the case runs the matrix form, not Paddle's kernel
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": channels}
    assert_matches_conv2d(depthwise_conv2d, x, weight, bias, 1e-5, **kwargs)


@needs_operator
@pytest.mark.parametrize("channels,height,width,kernel,stride,padding,dilation", CASES + [(512, 30, 30, 7, 1, 3, 1)])
def test_onednn_form_equals_conv2d_forward_and_gradients(channels, height, width, kernel, stride, padding, dilation,
                                                         monkeypatch):
    """On every map size, the layer's path too, at two operator threads (which the operator takes from
    32M multiply-adds per thread on: the last case, 68M at batch 3; the others run on one)."""
    monkeypatch.setattr(onednn_conv, "operator_threads", lambda: 2)
    monkeypatch.setattr(depthwise, "MIN_ONEDNN_PIXELS", 1)
    x = paddle.randn([3, channels, height, width])
    weight, bias = paddle.randn([channels, 1, kernel, kernel]), paddle.randn([channels])
    assert takes_onednn_form(x, weight, channels) and not takes_matmul_form(x, weight, channels)
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": channels}
    assert_matches_conv2d(depthwise_conv2d, x, weight, bias, 1e-4, **kwargs)
    layer = DepthwiseConv2D(channels, channels, kernel, stride, padding, dilation, channels)
    np.testing.assert_allclose(layer(x).numpy(), F.conv2d(x, layer.weight, layer.bias, **kwargs).numpy(),
                               rtol=1e-4, atol=1e-4)


@needs_operator
def test_route_by_map_size_and_fallback_when_the_operator_is_off(monkeypatch, fresh_operator):
    weight = paddle.randn([4, 1, 3, 3])
    small, large = (paddle.randn([2, 4, side, side]) for side in (int((MIN_ONEDNN_PIXELS - 1) ** 0.5), 9))
    assert takes_matmul_form(small, weight, 4) and not takes_onednn_form(small, weight, 4)
    assert takes_onednn_form(large, weight, 4) and not takes_matmul_form(large, weight, 4)
    assert not takes_onednn_form(large.astype("float64"), weight.astype("float64"), 4)
    monkeypatch.setenv(onednn_conv.NATIVE_OPS_ENV, "0")
    onednn_conv.native_conv2d_op.cache_clear()
    assert not takes_onednn_form(large, weight, 4) and not takes_matmul_form(large, weight, 4)  # Paddle's kernel
    eight = paddle.randn([2, 4, 8, 8])
    assert takes_matmul_form(eight, weight, 4) and not takes_onednn_form(eight, weight, 4)
    np.testing.assert_array_equal(depthwise_conv2d(large, weight, padding=1).numpy(),
                                  F.conv2d(large, weight, padding=1, groups=4).numpy())


def test_float64_takes_paddles_kernel_and_cpu_autocast_changes_nothing():
    # Paddle's CPU depthwise kernel has float32 and float64 only, and Paddle's autocast acts on
    # GPU/XPU/custom devices only (on CPU it warns and keeps float32), where Paddle's kernel is kept
    x, weight = paddle.randn([2, 4, 3, 3]), paddle.randn([4, 1, 3, 3])
    x64, weight64 = x.astype("float64"), weight.astype("float64")
    assert not takes_matmul_form(x64, weight64, 4)
    got = depthwise_conv2d(x64, weight64, padding=1)
    assert got.dtype == paddle.float64
    np.testing.assert_array_equal(got.numpy(), F.conv2d(x64, weight64, padding=1, groups=4).numpy())
    with pytest.warns(UserWarning, match="no effect"), paddle.amp.auto_cast(level="O1", dtype="bfloat16"):
        assert takes_matmul_form(x, weight, 4)
        got, want = depthwise_conv2d(x, weight, padding=1), F.conv2d(x, weight, padding=1, groups=4)
    assert got.dtype == want.dtype == paddle.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-5)


def test_large_maps_and_grouped_convs_take_paddles_kernel(monkeypatch):
    monkeypatch.setattr(depthwise, "native_conv2d_op", lambda: None)  # the operator off
    weight = paddle.randn([4, 1, 3, 3])
    side = int(MAX_MATMUL_PIXELS ** 0.5) + 1
    assert not takes_matmul_form(paddle.randn([2, 4, side, side]), weight, 4)
    assert not takes_matmul_form(paddle.randn([2, 4, 6, 6]), paddle.randn([4, 2, 3, 3]), 2)  # 2 channels per group


def test_layer_keeps_conv2d_parameters_and_falls_back_for_same_padding():
    paddle.seed(3)
    plain = nn.Conv2D(6, 6, 3, padding="SAME", groups=6)
    paddle.seed(3)
    fast = DepthwiseConv2D(6, 6, 3, padding="SAME", groups=6)
    assert list(fast.state_dict()) == list(plain.state_dict())
    x = paddle.randn([2, 6, 5, 5])
    np.testing.assert_array_equal(fast(x).numpy(), plain(x).numpy())  # "SAME": Paddle's own forward


def _program_ops(layer, spec):
    static = paddle.jit.to_static(layer, input_spec=[paddle.static.InputSpec(spec, "float32", "x")], full_graph=True)
    program = static.forward.concrete_program.main_program
    return {op.name().split(".")[-1] for op in program.global_block().ops}


def test_static_graph_shows_a_convolution_in_eval_and_the_matmul_form_in_training():
    layer = DepthwiseSeparableConv(8, 8)
    layer.eval()
    for spec in ([2, 8, 6, 6], [None, 8, None, None]):  # fixed and dynamic shapes (export's)
        ops = _program_ops(layer, spec)
        assert "matmul" not in ops and "matmul_v2" not in ops
        assert ops & {"depthwise_conv2d", "conv2d"}
    layer = DepthwiseSeparableConv(8, 8)
    layer.train()
    ops = _program_ops(layer, [None, 8, 6, 6])  # the batch may be dynamic
    assert "depthwise_conv2d" not in ops and ops & {"matmul", "matmul_v2"}
    layer = DepthwiseSeparableConv(8, 8)
    layer.train()
    assert "depthwise_conv2d" in _program_ops(layer, [2, 8, None, None])  # unknown map size: Paddle's


def test_to_static_training_step_matches_dygraph_gradients():
    paddle.seed(5)
    layer = DepthwiseConv2D(8, 8, 3, padding=1, groups=8)
    x = paddle.randn([2, 8, 4, 4])
    _, upstream = conv_gradients(F.conv2d, x, layer.weight, layer.bias, padding=1, groups=8)
    want = conv_gradients(F.conv2d, x, layer.weight, layer.bias, upstream, padding=1, groups=8)[0]
    static = paddle.jit.to_static(layer, input_spec=[paddle.static.InputSpec([2, 8, 4, 4], "float32", "x")],
                                  full_graph=True)
    xs = x.detach()
    xs.stop_gradient = False
    y = static(xs)
    (y * upstream).sum().backward()
    for got, ref in zip([y.numpy(), xs.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()], want):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_visualdl_graph_of_a_training_network_shows_a_convolution(tmp_path):
    from paddle_conv.engine.visualdl_extras import write_graph

    layer = DepthwiseSeparableConv(8, 8)
    layer.train()  # the trainer writes the graph before training, in train mode (legacy program IR)
    path = write_graph(str(tmp_path), layer, [paddle.static.InputSpec([1, 8, 6, 6], "float32", "x")])
    text = open(path).read()
    assert "conv2d" in text and "matmul" not in text
