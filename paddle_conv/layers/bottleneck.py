"""ResNet bottleneck block (He et al., CVPR 2016, arXiv:1512.03385) with any :func:`create_conv2d` 3x3 conv.

Layer names equal ``paddle.vision.models.resnet.BottleneckBlock``'s (same state dict with ``conv="conv"``).
"""

import paddle.nn as nn

from .conv_factory import create_conv2d

__all__ = ["Bottleneck"]


class Bottleneck(nn.Layer):
    """Bottleneck residual block: 1x1 reduce, 3x3 (a :func:`create_conv2d` of kind ``conv`` with ``conv_kwargs``,
    carrying ``stride`` and ``dilation``), 1x1 expand (x4), each with BN; width ``int(planes * base_width / 64) *
    groups``; ``downsample`` None: a 1x1 projection + BN where the shape changes, else the identity.
    ``[N, C_in, H, W] -> [N, 4 * planes, H / stride, W / stride]``.
    """

    expansion = 4

    def __init__(self, in_channels, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 conv="conv", conv_kwargs=None):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2D(in_channels, width, 1, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(width)
        self.conv2 = create_conv2d(conv, width, width, 3, stride=stride, padding=dilation, dilation=dilation,
                                   groups=groups, **(conv_kwargs or {}))
        self.bn2 = nn.BatchNorm2D(width)
        self.conv3 = nn.Conv2D(width, out_channels, 1, bias_attr=False)
        self.bn3 = nn.BatchNorm2D(out_channels)
        self.relu = nn.ReLU()
        if downsample is None and (stride != 1 or in_channels != out_channels):
            downsample = nn.Sequential(nn.Conv2D(in_channels, out_channels, 1, stride=stride, bias_attr=False),
                                       nn.BatchNorm2D(out_channels))
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)
