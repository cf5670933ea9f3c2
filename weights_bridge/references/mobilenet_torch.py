"""PyTorch reference of MobileNetV1 (arXiv:1704.04861) in the layout of d-li14/octconv.pytorch's plain
baseline: ``features.0`` (conv, BN), ``features.{1..13}`` (``.0``/``.1`` depthwise conv/BN, ``.3``/``.4``
pointwise conv/BN), ``fc``; :data:`MOBILENET_V1_BLOCKS` names each block as paddle.vision does."""

import math

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

__all__ = ["MOBILENET_V1_BLOCKS", "MobileNetV1", "mobilenet_v1"]

#: ``(paddle.vision name, in, out, stride)`` of the 13 separable blocks, ``features.1`` .. ``features.13``.
MOBILENET_V1_BLOCKS = (
    ("conv2_1", 32, 64, 1), ("conv2_2", 64, 128, 2), ("conv3_1", 128, 128, 1), ("conv3_2", 128, 256, 2),
    ("conv4_1", 256, 256, 1), ("conv4_2", 256, 512, 2), ("conv5_1", 512, 512, 1), ("conv5_2", 512, 512, 1),
    ("conv5_3", 512, 512, 1), ("conv5_4", 512, 512, 1), ("conv5_5", 512, 512, 1), ("conv5_6", 512, 1024, 2),
    ("conv6", 1024, 1024, 1),
)


def _conv_bn_relu(cin, cout, kernel, stride, groups=1):
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class MobileNetV1(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``; ``stride_of(i)`` is the output stride of ``features.i``."""

    def __init__(self, num_classes=1000, scale=1.0):
        super().__init__()
        stem = int(32 * scale)
        blocks = [nn.Sequential(*_conv_bn_relu(3, stem, 3, 2))]
        for _, cin, cout, stride in MOBILENET_V1_BLOCKS:
            cin, cout = int(cin * scale), int(cout * scale)
            blocks.append(nn.Sequential(*_conv_bn_relu(cin, cin, 3, stride, groups=cin),
                                        *_conv_bn_relu(cin, cout, 1, 1)))
        self.features = nn.Sequential(*blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(int(1024 * scale), num_classes)

    @staticmethod
    def stride_of(index):
        return 2 * math.prod(stride for *_, stride in MOBILENET_V1_BLOCKS[:index])

    def forward(self, x):
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


mobilenet_v1 = register_reference(MobileNetV1, name="mobilenet_v1")
