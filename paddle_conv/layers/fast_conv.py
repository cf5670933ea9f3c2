"""Which ``nn.Conv2D`` subclass trains a convolution fastest on CPU, and the model walk that
applies it to networks this project does not build (``paddle.vision.models``).

Depthwise layers (``groups == C_in == C_out > 1``) become :class:`DepthwiseConv2D`, pointwise
ones (``1 x 1``, ``groups == 1``) :class:`PointwiseConv2D`, the rest :class:`DenseConv2D`. The
three subclasses keep ``nn.Conv2D``'s parameters, state-dict keys and exported graph.
"""

import paddle.nn as nn

from .dense_conv import DenseConv2D
from .depthwise import DepthwiseConv2D, is_depthwise
from .pointwise import PointwiseConv2D

__all__ = ["fast_conv_class", "use_fast_convolutions"]


def fast_conv_class(in_channels, out_channels, kernel_size, groups=1):
    """The ``nn.Conv2D`` class to build for these arguments (``kernel_size`` an int or a pair)."""
    if is_depthwise(in_channels, out_channels, groups):
        return DepthwiseConv2D
    if groups == 1 and kernel_size in (1, (1, 1), [1, 1]):
        return PointwiseConv2D
    return DenseConv2D


def use_fast_convolutions(model):
    """Give every plain ``nn.Conv2D`` sublayer of ``model`` its :func:`fast_conv_class`, in place
    (same parameters, buffers and hooks); returns ``model``."""
    for layer in model.sublayers(include_self=True):
        if type(layer) is nn.Conv2D:
            layer.__class__ = fast_conv_class(layer._in_channels, layer._out_channels, layer._kernel_size,
                                              layer._groups)
    return model
