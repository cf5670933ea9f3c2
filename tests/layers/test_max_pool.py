import numpy as np
import paddle
import paddle.nn as nn
import pytest

import paddle_conv as pc
from paddle_conv.layers import max_pool
from paddle_conv.layers.fast_conv import use_fast_convolutions
from paddle_conv.layers.max_pool import FastMaxPool2D
from tests.layers.test_depthwise import _program_ops

needs_operator = pytest.mark.skipif(not max_pool.max_pool_built(), reason="no C++ compiler here (or "
                                    "PADDLE_CONV_NATIVE_OPS=0): the max pooling operator is not built")


def output_and_gradient(layer, x):
    a = x.detach()
    a.stop_gradient = False
    y = layer(a)
    (y * paddle.arange(y.size, dtype="float32").reshape(y.shape)).sum().backward()
    return y.numpy(), a.grad.numpy()


# (input, kernel, stride, padding, ceil_mode): ResNet's stem, VGG's pools (one in ceil mode on an odd map), SSD's
# pool5, CCT's tokenizer, a non-square kernel and stride, a map split over two threads
@needs_operator
@pytest.mark.parametrize("shape,kernel,stride,padding,ceil_mode", [
    ((2, 3, 9, 9), 3, 2, 1, False), ((2, 3, 8, 8), 2, 2, 0, False), ((2, 3, 75, 75), 2, 2, 0, True),
    ((1, 4, 7, 7), 3, 1, 1, False), ((3, 2, 10, 7), (3, 2), (2, 1), (1, 0), True), ((2, 8, 96, 96), 3, 2, 1, False),
])
def test_equals_paddles_max_pooling_with_ties(monkeypatch, shape, kernel, stride, padding, ceil_mode):
    monkeypatch.setattr(max_pool, "operator_threads", lambda: 2)
    x = paddle.to_tensor(np.random.default_rng(0).integers(0, 3, shape).astype("float32"))  # many ties
    fast, plain = (cls(kernel, stride, padding, ceil_mode=ceil_mode) for cls in (FastMaxPool2D, nn.MaxPool2D))
    assert fast._native_geometry(x) is not None
    for got, want in zip(output_and_gradient(fast, x), output_and_gradient(plain, x)):
        np.testing.assert_array_equal(got, want)


def test_masks_layouts_string_paddings_and_float64_keep_paddles_pooling():
    x = paddle.randn([1, 2, 6, 6])
    assert FastMaxPool2D(2, return_mask=True)._native_geometry(x) is None
    assert FastMaxPool2D(2, data_format="NHWC")._native_geometry(x) is None
    assert FastMaxPool2D(3, 1, padding="SAME")._native_geometry(x) is None
    assert FastMaxPool2D(2)._native_geometry(x.astype("float64")) is None
    y, mask = FastMaxPool2D(2, return_mask=True)(x)
    assert list(y.shape) == list(mask.shape) == [1, 2, 3, 3]


def test_static_graphs_and_exports_see_paddles_pool2d():
    ops = _program_ops(FastMaxPool2D(3, 2, 1), [None, 4, None, None])
    assert "pool2d" in ops and not any("max_pool2d" == op for op in ops)


def test_models_and_the_fast_walk_take_it():
    assert type(pc.create_model("oct_resnet26", num_classes=3).maxpool) is FastMaxPool2D
    walked = use_fast_convolutions(nn.Sequential(nn.Conv2D(3, 4, 3), nn.MaxPool2D(2)))
    assert type(walked[1]) is FastMaxPool2D


@needs_operator
def test_a_nan_in_a_window_is_its_maximum_wherever_it_sits():
    """torch's rule; Paddle's kernel keeps or drops a NaN by its place in the window."""
    x = paddle.to_tensor(np.array([[[[np.nan, 1, 2, 3], [0, 5, np.nan, 9], [1, 2, 3, 4], [np.inf, -np.inf, 0, 1]]]],
                                  "float32"))
    x.stop_gradient = False
    y = FastMaxPool2D(2)(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy().ravel(), [np.nan, np.nan, np.inf, 4])
    assert x.grad.numpy()[0, 0, 0, 0] == 1 and x.grad.numpy()[0, 0, 1, 2] == 1  # the NaNs take the gradient
