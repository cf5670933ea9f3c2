"""PyTorch reference of torchvision's ResNet-18/34/50/101 layout, written from its documented structure, and of
ResNet-50 variants whose 3x3 convolutions are deformable (``resnet50_dcn``: ``DeformConv2d``'s ``conv2.weight``
plus ``conv2.offset_conv`` and ``conv2.mask_conv``, merged into Paddle's ``conv2.conv_offset``) or RefConv."""

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

from .dcn_torch import deform_conv2d
from .refconv_torch import RepConv

__all__ = ["BasicBlock", "Bottleneck", "DeformConv", "ResNet", "conv_resnet50", "resnet50_dcn"]

#: blocks per stage of torchvision's ResNets (planes 64, 128, 256, 512)
DEPTHS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class DeformConv(nn.Module):
    """``torchvision.ops.DeformConv2d`` with its offset and mask predictors: ``[N, C, H, W] -> [N, C_out, H', W']``."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=1, dilation=1,
                 groups=1, deformable_groups=1, modulated=True):
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        points = deformable_groups * kernel_size * kernel_size

        def predictor(channels):
            conv = nn.Conv2d(in_channels, channels, kernel_size, stride, padding, dilation)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
            return conv

        self.offset_conv = predictor(2 * points)
        self.mask_conv = predictor(points) if modulated else None

    def forward(self, x):
        mask = None if self.mask_conv is None else 2.0 * torch.sigmoid(self.mask_conv(x))
        return deform_conv2d(x, self.offset_conv(x), self.weight, None, self.stride, self.padding, self.dilation, mask)


def _conv3x3(kind, channels, stride, conv_kwargs):
    if kind == "conv":
        return nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
    if kind == "deform":
        return DeformConv(channels, channels, 3, stride, 1, **conv_kwargs)
    if kind == "refconv":
        return RepConv(channels, channels, 3, stride, 1, **conv_kwargs)
    raise ValueError(f"the ResNet reference has 3x3 convolutions of kind conv, deform or refconv, not {kind!r}")


def _projection(in_channels, out_channels, stride):
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """torchvision's ``BasicBlock``: ``[N, C_in, H, W] -> [N, planes, H / stride, W / stride]``."""

    expansion = 1

    def __init__(self, in_channels, planes, stride=1, conv="conv", conv_kwargs=None):
        super().__init__()
        if conv != "conv":
            raise ValueError("the ResNet-18/34 reference has plain 3x3 convolutions only")
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _projection(in_channels, planes, stride)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """torchvision's ``Bottleneck``: ``[N, C_in, H, W] -> [N, 4 planes, H / stride, W / stride]``."""

    expansion = 4

    def __init__(self, in_channels, planes, stride=1, conv="conv", conv_kwargs=None):
        super().__init__()
        out_channels = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(conv, planes, stride, conv_kwargs or {})
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_channels, out_channels, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """torchvision's ResNet (``depth`` 18 to 101), the 3x3 convs of ``conv_stages`` (2 = ``layer1``) of kind ``conv``:
    ``[N, 3, H, W] -> [N, num_classes]`` (``num_classes=0``: the pooled features)."""

    def __init__(self, num_classes=1000, conv="conv", conv_stages=(2, 3, 4, 5), conv_kwargs=None, depth=50):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = 64
        block = Bottleneck if depth >= 50 else BasicBlock
        for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), DEPTHS[depth]), start=2):
            kind, kwargs = (conv, conv_kwargs) if stage in conv_stages else ("conv", None)
            layer = []
            for i in range(blocks):
                layer.append(block(in_channels, planes, 2 if i == 0 and stage > 2 else 1, kind, kwargs))
                in_channels = planes * block.expansion
            self.add_module(f"layer{stage - 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_channels, num_classes) if num_classes > 0 else None

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return x if self.fc is None else self.fc(x)


def _resnet_builder(depth):
    def build(num_classes=1000):
        return ResNet(num_classes, depth=depth)

    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"Torch reference of ``resnet{depth}``: torchvision's ResNet-{depth}."
    return build


for _depth in (18, 34, 50, 101):
    register_reference(_resnet_builder(_depth))


@register_reference
def conv_resnet50(num_classes=1000, conv="conv", conv_stages=(2, 3, 4, 5), conv_kwargs=None):
    """Torch reference of ``conv_resnet50`` (torchvision's ResNet-50 when ``conv="conv"``)."""
    return ResNet(num_classes, conv, tuple(conv_stages), conv_kwargs)


@register_reference
def resnet50_dcn(num_classes=1000, deformable_groups=1):
    """Torch reference of ``resnet50_dcn``: DCNv2 3x3 convs in stages 3-5 (``layer2`` .. ``layer4``)."""
    return ResNet(num_classes, "deform", (3, 4, 5), {"deformable_groups": deformable_groups})
