import paddle.nn as nn

import paddle_conv as pc
from paddle_conv.layers import (
    DenseConv2D,
    DepthwiseConv2D,
    DepthwiseSeparableConv,
    OctaveConv,
    PointwiseConv2D,
    create_conv2d,
    fast_conv_class,
    use_fast_convolutions,
    use_fast_depthwise,
)
from paddle_conv.layers.pointwise import is_pointwise
from paddle_conv.refconv import refocusable


def test_fast_conv_class_picks_depthwise_pointwise_or_dense():
    assert fast_conv_class(8, 8, 3, 8) is DepthwiseConv2D
    assert fast_conv_class(8, 16, 1) is PointwiseConv2D and fast_conv_class(8, 16, (1, 1)) is PointwiseConv2D
    assert fast_conv_class(8, 16, 3) is DenseConv2D and fast_conv_class(8, 16, 1, 2) is DenseConv2D
    assert fast_conv_class(1, 1, 3, 1) is DenseConv2D  # one channel: a dense conv, not depthwise


def test_use_fast_convolutions_swaps_depthwise_and_pointwise_convs_of_paddle_vision_models():
    model = pc.create_model("mobilenet_v1", num_classes=4, scale=0.25)
    convs = [layer for layer in model.sublayers() if isinstance(layer, nn.Conv2D)]
    assert {type(layer) for layer in convs} == {DenseConv2D, DepthwiseConv2D, PointwiseConv2D}
    for layer in convs:
        assert (type(layer) is DepthwiseConv2D) == (layer._groups == layer._in_channels == layer._out_channels > 1)
        assert (type(layer) is PointwiseConv2D) == is_pointwise(layer)
        assert refocusable(layer) == (layer._kernel_size[0] >= 3)
    assert use_fast_convolutions(model) is model


def test_use_fast_depthwise_swaps_only_depthwise_convs():
    model = use_fast_depthwise(nn.Sequential(nn.Conv2D(8, 8, 3, groups=8), nn.Conv2D(8, 16, 1)))
    assert [type(layer) for layer in model] == [DepthwiseConv2D, nn.Conv2D]


def test_project_layers_build_fast_convolutions():
    separable = DepthwiseSeparableConv(8, 16)
    assert type(separable.depthwise) is DepthwiseConv2D and type(separable.pointwise) is PointwiseConv2D
    octave = OctaveConv(16, 16, 3, padding=1, groups=16)
    assert type(octave.conv_h2h) is DepthwiseConv2D and type(octave.conv_l2l) is DepthwiseConv2D
    assert type(OctaveConv(16, 16, 3, padding=1).conv_h2h) is DenseConv2D
    assert type(OctaveConv(16, 32, 1).conv_h2l) is PointwiseConv2D
    assert type(create_conv2d("conv", 8, 16, 1)) is PointwiseConv2D
