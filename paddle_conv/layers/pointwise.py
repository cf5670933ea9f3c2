"""Pointwise convolution (``1 x 1``, ``groups == 1``, stride 1, no padding) that trains fast on CPU.

On small maps (``H * W <= MAX_MATMUL_PIXELS``) it is ONE matmul ``[N*H*W, C_in] @ [C_in, C_out]`` over
the channels-last view; Paddle's kernel stays where :mod:`paddle_conv.layers.depthwise` keeps it.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .depthwise import cpu_float32_training

__all__ = ["MAX_MATMUL_PIXELS", "PointwiseConv2D", "is_pointwise", "pointwise_conv2d", "takes_matmul_form"]

#: Largest input map (``H * W``) that takes the matrix form (measured, docs/benchmarks.md).
MAX_MATMUL_PIXELS = 4


def is_pointwise(layer):
    """Whether ``nn.Conv2D`` ``layer`` is ``1 x 1``, ``groups == 1``, stride 1, unpadded, NCHW, zero padding mode."""
    return (list(layer._kernel_size) == [1, 1] and layer._groups == 1 and list(layer._stride) == [1, 1]
            and not any(layer._updated_padding) and layer._data_format == "NCHW" and layer._padding_mode == "zeros")


@paddle.jit.not_to_static  # plain Python on shapes: dynamic dims (-1) must not become tensors
def takes_matmul_form(x, weight, training=True):
    """Whether :func:`pointwise_conv2d` computes ``x`` ``[N, C_in, H, W]`` as one matrix product."""
    height, width = x.shape[2:]
    return (list(weight.shape[2:]) == [1, 1] and x.shape[1] == weight.shape[1]
            and 0 < height * width <= MAX_MATMUL_PIXELS and width > 0 and cpu_float32_training(x, weight, training))


@paddle.jit.not_to_static
def _matmul_form(x, weight, bias):
    channels, height, width = x.shape[1:]
    out_channels = weight.shape[0]
    rows = x.reshape([-1, channels]) if height * width == 1 else x.transpose([0, 2, 3, 1]).reshape([-1, channels])
    y = paddle.matmul(rows, weight.reshape([out_channels, channels]), transpose_y=True)
    y = y if bias is None else y + bias
    if height * width == 1:
        return y.reshape([-1, out_channels, 1, 1])
    return y.reshape([-1, height, width, out_channels]).transpose([0, 3, 1, 2])


def pointwise_conv2d(x, weight, bias=None, training=True):
    """``F.conv2d(x, weight, bias)`` ``[N, C_in, H, W] -> [N, C_out, H, W]``, one matmul where faster."""
    if takes_matmul_form(x, weight, training):
        return _matmul_form(x, weight, bias)
    return F.conv2d(x, weight, bias)


class PointwiseConv2D(nn.Conv2D):
    """``nn.Conv2D`` (same parameters) whose forward is :func:`pointwise_conv2d`'s when it :func:`is_pointwise`."""

    def forward(self, x):
        if is_pointwise(self) and takes_matmul_form(x, self.weight, self.training):
            return _matmul_form(x, self.weight, self.bias)
        return super().forward(x)
