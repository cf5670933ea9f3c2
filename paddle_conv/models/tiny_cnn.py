"""TinyCNN: five stages (strides 2 ... 32) of a stride-2 and a plain 3x3 conv-BN-ReLU, ``(16, 32, 64, 128, 256) *
width`` channels, pooling and a linear classifier; a backbone small enough to train a detector from scratch on a
CPU (``configs/ssd_kd_shapes.yaml``). ``[N, 3, H, W] -> [N, num_classes]``.
"""

import paddle
import paddle.nn as nn

from ..cards import HALF_MEAN, HALF_STD, ModelCard, sequential_stages
from ..errors import ConfigError
from ..layers.fast_conv import conv_bn_act
from ..registry import register_model

__all__ = ["TinyCNN"]


class TinyCNN(nn.Layer):
    """TinyCNN classifier; ``width`` scales every stage's channels (at least 8)."""

    def __init__(self, num_classes=1000, width=1.0):
        super().__init__()
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 16:
            raise ConfigError(f"TinyCNN width={width!r} must be a number in (0, 16]: it scales every stage's "
                              "channels (e.g. 0.5 for half)")
        channels = [max(8, int(round(c * width))) for c in (16, 32, 64, 128, 256)]
        stages, cin = [], 3
        for cout in channels:
            stages.append(nn.Sequential(conv_bn_act(cin, cout, 3, 2), conv_bn_act(cout, cout, 3)))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(paddle.flatten(self.pool(self.stages(x)), 1))


@register_model(card=ModelCard(input_size=(3, 32, 32), mean=HALF_MEAN, std=HALF_STD,
                                stages=sequential_stages("stages", [2] * 5)))
def tiny_cnn(num_classes=1000, width=1.0):
    """TinyCNN with channels ``(16, 32, 64, 128, 256) * width``; see :class:`TinyCNN`."""
    return TinyCNN(num_classes=num_classes, width=width)
