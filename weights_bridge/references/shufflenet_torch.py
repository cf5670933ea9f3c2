"""PyTorch reference of ShuffleNetV2 x1.0 (Ma et al., ECCV 2018) in torchvision's layout (``conv1``,
``stage2..4.i.branch{1,2}.j``, ``conv5``, ``fc``), written from its documented structure, not imported;
the card's ``torch_keys`` maps paddle.vision's names."""

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

__all__ = ["SHUFFLENET_V2_STAGES", "ShuffleNetV2", "shufflenet_v2_x1_0"]

#: ``(stage name, units, output channels)`` of ShuffleNetV2 x1.0; stem 24 channels, ``conv5`` 1024.
SHUFFLENET_V2_STAGES = (("stage2", 4, 116), ("stage3", 8, 232), ("stage4", 4, 464))


def _conv_bn(cin, cout, kernel, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


def channel_shuffle(x, groups=2):
    """``[N, C, H, W]``: channel ``g * C / groups + i`` moves to ``i * groups + g``."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    """``[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]`` (stride 1: ``C_in == C_out``)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        half = cout // 2
        self.stride = stride
        if stride > 1:
            self.branch1 = nn.Sequential(*_conv_bn(cin, cin, 3, stride, groups=cin, relu=False),
                                         *_conv_bn(cin, half, 1))
        self.branch2 = nn.Sequential(*_conv_bn(cin if stride > 1 else half, half, 1),
                                     *_conv_bn(half, half, 3, stride, groups=half, relu=False),
                                     *_conv_bn(half, half, 1))

    def forward(self, x):
        if self.stride > 1:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        else:
            kept, transformed = x.chunk(2, dim=1)
            out = torch.cat((kept, self.branch2(transformed)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Sequential(*_conv_bn(3, 24, 3, 2))
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 24
        for name, units, cout in SHUFFLENET_V2_STAGES:
            self.add_module(name, nn.Sequential(*[ShuffleUnit(cin if i == 0 else cout, cout, 2 if i == 0 else 1)
                                                  for i in range(units)]))
            cin = cout
        self.conv5 = nn.Sequential(*_conv_bn(cin, 1024, 1))
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.maxpool(self.conv1(x)))))
        return self.fc(self.conv5(x).mean((2, 3)))


shufflenet_v2_x1_0 = register_reference(ShuffleNetV2, name="shufflenet_v2_x1_0")
