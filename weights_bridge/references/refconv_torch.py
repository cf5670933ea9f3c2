"""PyTorch reference of RefConv (arXiv:2310.10563) in the official layout (Aiolus-X/RefConv's ``RepConv``:
basis buffer ``weight`` and ``convmap.weight``, as Paddle's ``RefConv2D``), and of ``refconv_mobilenet_v1``
(paddle.vision's MobileNetV1 names with ``RepConv`` 3x3 convolutions)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from paddle_conv.registry import register_reference

from .mobilenet_torch import MOBILENET_V1_BLOCKS

__all__ = ["RepConv", "RefConvMobileNetV1", "refconv_mobilenet_v1"]


class RepConv(nn.Module):
    """Official-layout RefConv layer (torch); input ``[N, C_in, H, W]``."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=None, groups=1, map_k=3):
        super().__init__()
        self.kernel_shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        # a Kaiming-normal start (as RefConv2D's; official: zeros, then loaded) keeps parity checks non-degenerate
        fan_in = self.kernel_shape[1] * kernel_size * kernel_size
        self.register_buffer("weight", torch.randn(self.kernel_shape) * (2.0 / fan_in) ** 0.5)
        n_kernels = out_channels * in_channels // groups
        self.convmap = nn.Conv2d(n_kernels, n_kernels, map_k, padding=map_k // 2,
                                 groups=in_channels * out_channels // groups ** 2, bias=False)
        self.stride, self.groups = stride, groups
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x):
        basis = self.weight.reshape(1, -1, *self.kernel_shape[2:])
        kernel = self.weight + self.convmap(basis).reshape(self.kernel_shape)
        return F.conv2d(x, kernel, stride=self.stride, padding=self.padding, groups=self.groups)


def _conv_bn_relu(conv, channels):
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.ReLU())


class _DepthwiseSeparable(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self._depthwise_conv = _conv_bn_relu(RepConv(in_channels, in_channels, 3, stride, 1, groups=in_channels),
                                             in_channels)
        self._pointwise_conv = _conv_bn_relu(nn.Conv2d(in_channels, out_channels, 1, bias=False), out_channels)

    def forward(self, x):
        return self._pointwise_conv(self._depthwise_conv(x))


class RefConvMobileNetV1(nn.Module):
    """MobileNetV1 with RefConv 3x3 convolutions; ``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = _conv_bn_relu(RepConv(3, 32, 3, 2, 1), 32)
        self.block_names = [name for name, *_ in MOBILENET_V1_BLOCKS]
        for name, cin, cout, stride in MOBILENET_V1_BLOCKS:
            self.add_module(name, _DepthwiseSeparable(cin, cout, stride))
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        for name in self.block_names:
            x = getattr(self, name)(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


@register_reference
def refconv_mobilenet_v1(num_classes=1000, map_k=3):
    """Torch reference of ``paddle_conv``'s ``refconv_mobilenet_v1``."""
    if map_k != 3:
        raise ValueError("the refconv_mobilenet_v1 reference has the official map_k=3 only")
    return RefConvMobileNetV1(num_classes)
