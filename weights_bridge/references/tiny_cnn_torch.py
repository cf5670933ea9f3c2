"""PyTorch reference of TinyCNN, paddle_conv's own small backbone (no upstream project).

Layout (the paddle_conv names, so the converter maps them one to one): ``stages.{0..4}`` of two
conv-BN-ReLU units each, ``stages.i.0`` (3x3 stride 2) and ``stages.i.1`` (3x3 stride 1), every unit
a ``Sequential`` of ``0`` conv (no bias), ``1`` BN, ``2`` ReLU; then ``fc``. Stage ``i`` has
``max(8, round(c_i * width))`` channels, ``c = (16, 32, 64, 128, 256)``; its output stride is
``2 ** (i + 1)``.
"""

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

__all__ = ["TinyCNN", "tiny_cnn"]

_CHANNELS = (16, 32, 64, 128, 256)


def _unit(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class TinyCNN(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000, width=1.0):
        super().__init__()
        channels = [max(8, int(round(c * width))) for c in _CHANNELS]
        self.stages = nn.Sequential(*(nn.Sequential(_unit(cin, cout, 2), _unit(cout, cout, 1))
                                      for cin, cout in zip([3] + channels[:-1], channels)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels[-1], num_classes)

    @staticmethod
    def stride_of(index):
        return 2 ** (index + 1)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stages(x)), 1))


@register_reference
def tiny_cnn(num_classes=1000, width=1.0):
    """Torch reference of ``tiny_cnn``."""
    return TinyCNN(num_classes, width)
