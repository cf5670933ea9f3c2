"""Depthwise separable convolution (Chollet, "Xception", CVPR 2017, arXiv:1610.02357; Howard et
al., "MobileNets", arXiv:1704.04861): a ``k x k`` depthwise convolution (one filter per input
channel) followed by a ``1 x 1`` pointwise convolution that mixes the channels.

Parameters (no bias): ``k*k*C_in + C_in*C_out`` instead of ``k*k*C_in*C_out`` for a plain conv.
"""

import paddle.nn as nn

from .depthwise import DepthwiseConv2D
from .pointwise import PointwiseConv2D

__all__ = ["DepthwiseSeparableConv"]


class DepthwiseSeparableConv(nn.Layer):
    """``depthwise`` (``k x k``, ``groups=C_in``) then ``pointwise`` (``1 x 1``).

    Args:
        in_channels, out_channels, kernel_size, stride, dilation: as ``nn.Conv2D`` (stride and
            dilation apply to the depthwise conv).
        padding: of the depthwise conv; None means ``dilation * (kernel_size - 1) // 2`` ("same").
        bias: give both convolutions a bias.

    Input ``[N, C_in, H, W]``; output ``[N, C_out, H', W']``.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, dilation=1, bias=False):
        super().__init__()
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        bias_attr = None if bias else False
        self.depthwise = DepthwiseConv2D(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, groups=in_channels, bias_attr=bias_attr)
        self.pointwise = PointwiseConv2D(in_channels, out_channels, 1, bias_attr=bias_attr)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
