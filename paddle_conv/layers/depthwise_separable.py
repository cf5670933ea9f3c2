"""Depthwise separable convolution (Xception, arXiv:1610.02357; MobileNets, arXiv:1704.04861)."""

import paddle.nn as nn

from .depthwise import DepthwiseConv2D
from .pointwise import PointwiseConv2D

__all__ = ["DepthwiseSeparableConv"]


class DepthwiseSeparableConv(nn.Layer):
    """``depthwise`` (``k x k``, ``groups=C_in``; stride, dilation, padding: None is "same") then ``pointwise``
    (``1 x 1``); ``bias`` for both. Input ``[N, C_in, H, W]``; output ``[N, C_out, H', W']``."""

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
