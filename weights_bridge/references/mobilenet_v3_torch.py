"""PyTorch reference of MobileNetV3 Small/Large (Howard et al., ICCV 2019) in torchvision's layout
(``features.i.block.j``, SE ``fc1``/``fc2``, BN eps 1e-3, ``classifier.0``/``.3``), written from its documented
structure; the card's ``torch_keys`` maps paddle.vision's names."""

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

from paddle_conv.registry import register_reference

from .mobilenet_v2_torch import conv_norm_act, make_divisible

__all__ = ["MOBILENET_V3_BLOCKS", "MobileNetV3", "mobilenet_v3_large", "mobilenet_v3_small"]

#: Per variant: (``(in, kernel, expanded, out, SE, activation "RE"/"HS", stride)`` per block, classifier width).
MOBILENET_V3_BLOCKS = {
    "small": ((
        (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
        (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
        (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
        (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1)), 1024),
    "large": ((
        (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
        (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
        (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
        (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
        (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1)),
        1280),
}
_EPS = 1e-3


class SqueezeExcitation(nn.Module):
    """``x * hardsigmoid(fc2(relu(fc1(avgpool(x)))))``, ``[N, C, H, W]`` in and out."""

    def __init__(self, channels, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x):
        return x * F.hardsigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))


class InvertedResidual(nn.Module):
    """``[N, C_in, H, W] -> [N, C_out, H / stride, W / stride]``; residual when the shape is kept."""

    def __init__(self, cin, kernel, expanded, cout, se, activation, stride):
        super().__init__()
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        layers = [conv_norm_act(cin, expanded, 1, act=act, eps=_EPS)] if expanded != cin else []
        layers.append(conv_norm_act(expanded, expanded, kernel, stride, groups=expanded, act=act, eps=_EPS))
        if se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4)))
        layers.append(conv_norm_act(expanded, cout, 1, act=None, eps=_EPS))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV3(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``; ``variant`` ``"small"`` or ``"large"``, ``scale`` the width multiplier."""

    def __init__(self, variant, num_classes=1000, scale=1.0):
        super().__init__()
        blocks, last = MOBILENET_V3_BLOCKS[variant]
        blocks = [(make_divisible(cin * scale), k, make_divisible(exp * scale), make_divisible(cout * scale), *rest)
                  for cin, k, exp, cout, *rest in blocks]
        last = make_divisible(last * scale)
        layers = [conv_norm_act(3, blocks[0][0], 3, 2, act=nn.Hardswish, eps=_EPS)]
        layers += [InvertedResidual(*block) for block in blocks]
        width = 6 * blocks[-1][3]
        layers.append(conv_norm_act(blocks[-1][3], width, 1, act=nn.Hardswish, eps=_EPS))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(width, last), nn.Hardswish(), nn.Dropout(0.2),
                                        nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


mobilenet_v3_small = register_reference(functools.partial(MobileNetV3, "small"), name="mobilenet_v3_small")
mobilenet_v3_large = register_reference(functools.partial(MobileNetV3, "large"), name="mobilenet_v3_large")
