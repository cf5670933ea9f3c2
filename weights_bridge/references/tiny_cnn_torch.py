"""PyTorch reference of TinyCNN, paddle_conv's own small backbone, in its Paddle names: ``stages.{0..4}.{0,1}``
conv-BN-ReLU units (3x3, stride 2 then 1), ``fc``."""

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

from .mobilenet_v2_torch import conv_norm_act

__all__ = ["TinyCNN", "tiny_cnn"]

_CHANNELS = (16, 32, 64, 128, 256)


class TinyCNN(nn.Module):
    """``[N, 3, H, W] -> [N, num_classes]``."""

    def __init__(self, num_classes=1000, width=1.0):
        super().__init__()
        channels = [max(8, int(round(c * width))) for c in _CHANNELS]
        self.stages = nn.Sequential(*(nn.Sequential(conv_norm_act(cin, cout, 3, 2, act=nn.ReLU),
                                                    conv_norm_act(cout, cout, 3, 1, act=nn.ReLU))
                                      for cin, cout in zip([3] + channels[:-1], channels)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels[-1], num_classes)

    @staticmethod
    def stride_of(index):
        return 2 ** (index + 1)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stages(x)), 1))


tiny_cnn = register_reference(TinyCNN, name="tiny_cnn")
