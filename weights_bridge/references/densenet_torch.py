"""PyTorch reference of DenseNet-121 (Huang et al., CVPR 2017) in torchvision's layout
(``features.denseblockB.denselayerL``, ``features.transitionB``, ``features.norm5``, ``classifier``),
written from its documented structure, not imported; the card's ``torch_keys`` maps paddle.vision's names."""

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from paddle_conv.registry import register_reference

__all__ = ["DENSENET121_BLOCKS", "DenseNet", "densenet121"]

#: dense layers per block of DenseNet-121 (growth rate 32, 64 stem channels, bottleneck 4 x 32)
DENSENET121_BLOCKS = (6, 12, 24, 16)
GROWTH, STEM, BOTTLENECK = 32, 64, 4


class DenseLayer(nn.Module):
    """``[N, C, H, W] -> [N, C + growth, H, W]``: BN-ReLU-1x1 conv, BN-ReLU-3x3 conv, concatenated."""

    def __init__(self, channels, growth=GROWTH, bottleneck=BOTTLENECK):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(channels)
        self.conv1 = nn.Conv2d(channels, bottleneck * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck * growth)
        self.conv2 = nn.Conv2d(bottleneck * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        new = self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))
        return torch.cat((x, new), 1)


class Transition(nn.Module):
    """``[N, C, H, W] -> [N, C / 2, H / 2, W / 2]``: BN-ReLU-1x1 conv, 2x2 average pooling."""

    def __init__(self, channels):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.conv = nn.Conv2d(channels, channels // 2, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), 2)


class DenseNet(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000, blocks=DENSENET121_BLOCKS):
        super().__init__()
        stem = OrderedDict(conv0=nn.Conv2d(3, STEM, 7, 2, 3, bias=False), norm0=nn.BatchNorm2d(STEM),
                           relu0=nn.ReLU(inplace=True), pool0=nn.MaxPool2d(3, 2, 1))
        self.features = nn.Sequential(stem)
        channels = STEM
        for b, layers in enumerate(blocks, start=1):
            block = nn.Sequential(OrderedDict((f"denselayer{i + 1}", DenseLayer(channels + i * GROWTH))
                                              for i in range(layers)))
            self.features.add_module(f"denseblock{b}", block)
            channels += layers * GROWTH
            if b < len(blocks):
                self.features.add_module(f"transition{b}", Transition(channels))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(F.relu(self.features(x)), 1)
        return self.classifier(torch.flatten(x, 1))


densenet121 = register_reference(DenseNet, name="densenet121")
