"""Which ``nn.Conv2D`` subclass (same parameters and exported graph) trains a convolution fastest on CPU, and
the model walk that applies it to networks this project does not build (``paddle.vision.models``)."""

import paddle.nn as nn

from .dense_conv import DenseConv2D
from .depthwise import DepthwiseConv2D, is_depthwise
from .max_pool import FastMaxPool2D
from .pointwise import PointwiseConv2D

__all__ = ["conv_bn_act", "fast_conv_class", "use_fast_convolutions"]


def fast_conv_class(in_channels, out_channels, kernel_size, groups=1):
    """:class:`DepthwiseConv2D`, :class:`PointwiseConv2D` (1x1, one group) or :class:`DenseConv2D` for these."""
    if is_depthwise(in_channels, out_channels, groups):
        return DepthwiseConv2D
    if groups == 1 and kernel_size in (1, (1, 1), [1, 1]):
        return PointwiseConv2D
    return DenseConv2D


def conv_bn_act(cin, cout, kernel, stride=1, groups=1, activation=nn.ReLU, fast=False):
    """``nn.Sequential`` of a ``k x k`` conv ("same" padding, no bias; ``fast``: its :func:`fast_conv_class`),
    BatchNorm2D and ``activation``: ``[N, cin, H, W] -> [N, cout, H/s, W/s]``."""
    conv = fast_conv_class(cin, cout, kernel, groups) if fast else nn.Conv2D
    return nn.Sequential(conv(cin, cout, kernel, stride, kernel // 2, groups=groups, bias_attr=False),
                         nn.BatchNorm2D(cout), activation())


def use_fast_convolutions(model):
    """Give every plain ``nn.Conv2D`` sublayer of ``model`` its :func:`fast_conv_class` and every ``nn.MaxPool2D``
    :class:`FastMaxPool2D`, in place (same parameters, buffers and hooks); returns ``model``."""
    for layer in model.sublayers(include_self=True):
        if type(layer) is nn.Conv2D:
            layer.__class__ = fast_conv_class(layer._in_channels, layer._out_channels, layer._kernel_size,
                                              layer._groups)
        elif type(layer) is nn.MaxPool2D:
            layer.__class__ = FastMaxPool2D
    return model
