"""PyTorch reference of MobileNetV2 (Sandler et al., CVPR 2018) in torchvision's layout (also paddle.vision's:
``features.0..18``, ``classifier.1``), written from its documented structure; ``scale`` is ``width_mult``."""

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

__all__ = ["MobileNetV2", "conv_norm_act", "make_divisible", "mobilenet_v2"]

#: ``(expansion t, channels c, blocks n, first stride s)`` of the inverted-residual stages.
MOBILENET_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))


def make_divisible(value, divisor=8):
    """``value`` rounded to the nearest multiple of ``divisor``, never below 90% of it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_norm_act(cin, cout, kernel, stride=1, groups=1, act=nn.ReLU6, eps=1e-5):
    """torchvision's ``Conv2dNormActivation``: ``Sequential(conv (no bias), BN[, act])``."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=eps)]
    return nn.Sequential(*layers, act()) if act is not None else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """``[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]``; residual when the shape is kept."""

    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = int(round(cin * expansion))
        expand = [conv_norm_act(cin, hidden, 1)] if expansion != 1 else []
        self.conv = nn.Sequential(*expand, conv_norm_act(hidden, hidden, 3, stride, groups=hidden),
                                  nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000, scale=1.0):
        super().__init__()
        cin = make_divisible(32 * scale)
        last = make_divisible(1280 * max(1.0, scale))
        layers = [conv_norm_act(3, cin, 3, 2)]
        for t, c, n, s in MOBILENET_V2_STAGES:
            cout = make_divisible(c * scale)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(conv_norm_act(cin, last, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


mobilenet_v2 = register_reference(MobileNetV2, name="mobilenet_v2")
