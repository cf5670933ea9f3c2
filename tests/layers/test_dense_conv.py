import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

import paddle_conv as pc
from paddle_conv.layers import DenseConv2D, dense_conv2d
from paddle_conv.layers.dense_conv import native_padding, takes_channel_bias_form
from paddle_conv.layers.onednn_conv import native_conv2d_op
from tests.layers.conv_parity import assert_matches_conv2d

# (in, out, height, width, kernel, stride, padding, dilation, groups): VGG's 3x3, strides,
# dilation (SSD's fc6), asymmetric and "SAME" padding, a grouped (not depthwise) and a 1x1 conv;
# the first two take oneDNN's convolution where it is built (MIN_NATIVE_CHANNELS input channels)
CASES = [
    (8, 6, 7, 5, 3, 2, 1, 1, 1),
    (8, 5, 6, 7, 3, 1, [1, 2, 0, 1], 2, 1),
    (4, 6, 7, 5, 3, 1, 1, 1, 1),
    (4, 8, 8, 8, 3, 2, 1, 1, 1),
    (3, 5, 9, 9, 3, 1, 3, 3, 1),
    (4, 6, 6, 7, 3, 2, [1, 2, 0, 1], 1, 1),
    (4, 6, 5, 5, 3, 1, "SAME", 1, 2),
    (6, 4, 3, 3, 1, 1, 0, 1, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cin,cout,height,width,kernel,stride,padding,dilation,groups", CASES)
def test_channel_bias_form_equals_conv2d_forward_and_gradients(cin, cout, height, width, kernel, stride, padding,
                                                               dilation, groups, dtype):
    x = paddle.randn([3, cin, height, width], dtype=dtype)
    weight, bias = paddle.randn([cout, cin // groups, kernel, kernel], dtype=dtype), paddle.randn([cout], dtype=dtype)
    assert takes_channel_bias_form(x, weight, bias, groups)  # the case runs our bias add
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    native = native_padding(x, weight, padding, groups) is not None  # oneDNN sums float32 in another order
    assert native == (native_conv2d_op() is not None and dtype == "float32" and cin == 8)
    assert_matches_conv2d(dense_conv2d, x, weight, bias, 1e-4 if native else 1e-6, **kwargs)


@pytest.mark.skipif(native_conv2d_op() is None, reason="the oneDNN operator is not built here (no compiler or "
                    "headers, or PADDLE_CONV_NATIVE_OPS=0)")
def test_native_route_takes_dygraph_cpu_float32_training_only():
    x, weight = paddle.randn([2, 8, 6, 6]), paddle.randn([5, 8, 3, 3])
    assert native_padding(x, weight, 1) == [1, 1, 1, 1]
    assert native_padding(x, weight, [1, 2, 3, 4]) == [1, 3, 2, 4]  # Paddle's [top, bottom, left, right]
    assert native_padding(x, weight, [1, 2]) == [1, 2, 1, 2]
    assert native_padding(x, weight, "SAME") is None
    assert native_padding(x, weight, 1, training=False) is None
    assert native_padding(x, paddle.randn([4, 4, 3, 3]), 1, groups=2) is None
    assert native_padding(x, paddle.randn([5, 8, 1, 1]), 0) is None  # 1x1: Paddle's GEMM is faster
    assert native_padding(x[:, :4], weight[:, :4], 1) is None  # few channels: Paddle's is faster
    assert native_padding(x.astype("float64"), weight.astype("float64"), 1) is None
    assert native_padding(x, weight, 1, data_format="NHWC") is None


def test_depthwise_nhwc_and_no_bias_keep_paddles_path():
    x, weight, bias = paddle.randn([2, 4, 6, 6]), paddle.randn([4, 1, 3, 3]), paddle.randn([4])
    assert not takes_channel_bias_form(x, weight, bias, groups=4)  # Paddle fuses a depthwise bias
    assert not takes_channel_bias_form(x, paddle.randn([4, 4, 3, 3]), None)
    assert not takes_channel_bias_form(x, paddle.randn([4, 6, 3, 3]), bias, data_format="NHWC")
    nhwc, weight, bias = paddle.randn([2, 6, 6, 4]), paddle.randn([5, 4, 3, 3]), paddle.randn([5])
    np.testing.assert_array_equal(dense_conv2d(nhwc, weight, bias, padding=1, data_format="NHWC").numpy(),
                                  F.conv2d(nhwc, weight, bias, padding=1, data_format="NHWC").numpy())


def test_layer_keeps_conv2d_parameters_and_outputs():
    for kwargs in ({"padding": 1}, {"padding": 1, "padding_mode": "reflect"}, {"padding": 2, "dilation": 2}):
        paddle.seed(3)
        plain = nn.Conv2D(4, 6, 3, **kwargs)
        paddle.seed(3)
        fast = DenseConv2D(4, 6, 3, **kwargs)
        assert list(fast.state_dict()) == list(plain.state_dict())
        x = paddle.randn([2, 4, 7, 7])
        np.testing.assert_allclose(fast(x).numpy(), plain(x).numpy(), rtol=1e-6, atol=1e-6)


def test_ssd300_builds_its_convolutions_as_dense_conv2d():
    model = pc.create_model("ssd300_vgg16", num_classes=3, width=0.125)
    convs = [layer for layer in model.sublayers() if isinstance(layer, nn.Conv2D)]
    assert convs and all(type(layer) is DenseConv2D for layer in convs)


def _program_ops(layer, spec):
    static = paddle.jit.to_static(layer, input_spec=[paddle.static.InputSpec(spec, "float32", "x")], full_graph=True)
    program = static.forward.concrete_program.main_program
    return [op.name().split(".")[-1] for op in program.global_block().ops]


def test_static_graph_is_paddles_in_eval_and_the_flat_bias_add_in_training():
    spec = [None, 4, None, None]  # export's dynamic shapes
    plain = nn.Conv2D(4, 6, 3, padding=1)
    plain.eval()
    layer = DenseConv2D(4, 6, 3, padding=1)
    layer.eval()
    assert _program_ops(layer, spec) == _program_ops(plain, spec)  # conv2d + Paddle's bias add
    layer = DenseConv2D(4, 6, 3, padding=1)
    layer.train()
    assert _program_ops(layer, spec) != _program_ops(plain, spec)
    static = paddle.jit.to_static(layer, input_spec=[paddle.static.InputSpec(spec, "float32", "x")], full_graph=True)
    x = paddle.randn([2, 4, 5, 6])
    np.testing.assert_allclose(static(x).numpy(), F.conv2d(x, layer.weight, layer.bias, padding=1).numpy(),
                               rtol=1e-6, atol=1e-6)
