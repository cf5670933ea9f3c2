import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from paddle_conv.layers import PointwiseConv2D, pointwise, pointwise_conv2d
from paddle_conv.layers.pointwise import MAX_MATMUL_PIXELS, is_pointwise, takes_matmul_form, takes_native_form
from tests.layers.conv_parity import assert_matches_conv2d
from tests.layers.test_depthwise import _program_ops


# (in channels, out channels, height, width): a 1x1 map (no transposes), 2x2, odd 1x3 and 3x1
@pytest.mark.parametrize("cin,cout,height,width", [(16, 8, 1, 1), (8, 12, 2, 2), (6, 4, 1, 3), (4, 5, 3, 1)])
def test_matmul_form_equals_conv2d_forward_and_gradients(cin, cout, height, width):
    x = paddle.randn([3, cin, height, width])
    weight, bias = paddle.randn([cout, cin, 1, 1]), paddle.randn([cout])
    assert takes_matmul_form(x, weight)  # the case runs the matrix form, not Paddle's kernel
    assert_matches_conv2d(pointwise_conv2d, x, weight, bias, 1e-5)
    np.testing.assert_allclose(pointwise_conv2d(x, weight).numpy(), F.conv2d(x, weight).numpy(), rtol=1e-5, atol=1e-5)


def test_large_maps_float64_and_other_kernels_take_paddles_kernel():
    weight = paddle.randn([4, 4, 1, 1])
    side = int(MAX_MATMUL_PIXELS ** 0.5) + 1
    assert not takes_matmul_form(paddle.randn([2, 4, side, side]), weight)
    assert not takes_matmul_form(paddle.randn([2, 4, 2, 2]).astype("float64"), weight.astype("float64"))
    assert not takes_matmul_form(paddle.randn([2, 4, 2, 2]), paddle.randn([4, 4, 3, 3]))
    x64, w64 = paddle.randn([2, 4, 2, 2]).astype("float64"), weight.astype("float64")
    np.testing.assert_array_equal(pointwise_conv2d(x64, w64).numpy(), F.conv2d(x64, w64).numpy())


def test_layer_keeps_conv2d_parameters_and_uses_paddles_forward_for_strides_and_padding():
    paddle.seed(3)
    plain = nn.Conv2D(6, 5, 1, stride=2, padding=1)
    paddle.seed(3)
    fast = PointwiseConv2D(6, 5, 1, stride=2, padding=1)
    assert list(fast.state_dict()) == list(plain.state_dict()) and not is_pointwise(fast)
    x = paddle.randn([2, 6, 3, 3])
    np.testing.assert_array_equal(fast(x).numpy(), plain(x).numpy())
    assert is_pointwise(PointwiseConv2D(6, 5, 1, padding="SAME"))  # a 1x1 "SAME" conv pads nothing


def test_static_graph_shows_a_convolution_in_eval_and_the_matmul_form_in_training():
    layer = PointwiseConv2D(8, 4, 1)
    layer.eval()
    for spec in ([2, 8, 2, 2], [None, 8, None, None]):  # fixed and dynamic shapes (export's)
        ops = _program_ops(layer, spec)
        assert "conv2d" in ops and not ops & {"matmul", "matmul_v2"}
    layer.train()
    assert {"matmul", "conv2d"} & _program_ops(layer, [None, 8, 2, 2]) == {"matmul"}  # the batch may be dynamic
    assert "conv2d" in _program_ops(layer, [2, 8, None, None])  # unknown map size: Paddle's kernel


needs_operator = pytest.mark.skipif(not pointwise.native_pointwise_built(), reason="no C++ compiler here (or "
                                    "PADDLE_CONV_NATIVE_OPS=0): the pointwise operator is not built")


# (batch, in, out, side): one image, odd batch and map, and batches split over two threads
@needs_operator
@pytest.mark.parametrize("batch,cin,cout,side", [(1, 8, 4, 7), (3, 6, 5, 3), (4, 64, 32, 16), (5, 32, 48, 15)])
def test_native_form_equals_conv2d_forward_and_gradients(monkeypatch, batch, cin, cout, side):
    monkeypatch.setattr(pointwise, "operator_threads", lambda: 2)
    x, weight, bias = paddle.randn([batch, cin, side, side]), paddle.randn([cout, cin, 1, 1]), paddle.randn([cout])
    assert takes_native_form(x, weight) and not takes_matmul_form(x, weight)
    assert_matches_conv2d(pointwise_conv2d, x, weight, bias, 1e-5)


@needs_operator
def test_layer_takes_the_native_form_in_dygraph_only_where_it_applies(monkeypatch):
    calls = []
    monkeypatch.setattr(pointwise, "_native_form", lambda *args: calls.append(args) or F.conv2d(*args))
    layer = PointwiseConv2D(8, 4, 1)
    layer(paddle.randn([2, 8, 9, 9]))
    assert len(calls) == 1
    layer(paddle.randn([2, 8, 2, 2]))  # small map: the matmul form
    strided = PointwiseConv2D(8, 4, 1, stride=2)
    strided(paddle.randn([2, 8, 9, 9]))  # not pointwise: Paddle's kernel
    monkeypatch.setattr(pointwise, "native_pointwise_built", lambda: False)
    layer(paddle.randn([2, 8, 9, 9]))
    assert len(calls) == 1
