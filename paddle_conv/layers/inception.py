"""Inception module (Szegedy et al., CVPR 2015, arXiv:1409.4842): four branches concatenated on channels."""

import paddle
import paddle.nn as nn

__all__ = ["InceptionBlock"]


def _conv_relu(cin, cout, k):
    return nn.Sequential(nn.Conv2D(cin, cout, k, padding=k // 2), nn.ReLU())


class InceptionBlock(nn.Layer):
    """Inception block: 1x1, 3x3, 5x5 convs and a 3x3 max-pool, each conv + ReLU; naive, or 1x1-reduced
    (GoogLeNet) given ``ch3x3_reduce``, ``ch5x5_reduce`` and ``pool_proj``.
    ``[N, C_in, H, W] -> [N, out_channels, H, W]`` (``ch1x1 + ch3x3 + ch5x5 + pool_proj or C_in``).
    """

    def __init__(self, in_channels, ch1x1, ch3x3, ch5x5, ch3x3_reduce=None, ch5x5_reduce=None, pool_proj=None):
        super().__init__()
        reductions = (ch3x3_reduce, ch5x5_reduce, pool_proj)
        given = [r is not None for r in reductions]
        if any(given) and not all(given):
            raise ValueError(f"InceptionBlock got ch3x3_reduce={ch3x3_reduce}, ch5x5_reduce={ch5x5_reduce}, "
                             f"pool_proj={pool_proj}: give all three (1x1-reduced form) or none (naive form).")
        self.reduced = all(given)
        pool = nn.MaxPool2D(3, stride=1, padding=1)
        self.branch1 = _conv_relu(in_channels, ch1x1, 1)
        if self.reduced:
            self.branch2 = nn.Sequential(_conv_relu(in_channels, ch3x3_reduce, 1), _conv_relu(ch3x3_reduce, ch3x3, 3))
            self.branch3 = nn.Sequential(_conv_relu(in_channels, ch5x5_reduce, 1), _conv_relu(ch5x5_reduce, ch5x5, 5))
            self.branch4 = nn.Sequential(pool, _conv_relu(in_channels, pool_proj, 1))
        else:
            self.branch2 = _conv_relu(in_channels, ch3x3, 3)
            self.branch3 = _conv_relu(in_channels, ch5x5, 5)
            self.branch4 = pool
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + (pool_proj if self.reduced else in_channels)

    def forward(self, x):
        return paddle.concat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], axis=1)
