"""Squeeze-and-Excitation (Hu et al., CVPR 2018, arXiv:1709.01507): per-channel scales from pooled channels."""

import paddle.nn as nn
import paddle.nn.functional as F

__all__ = ["SqueezeExcite"]


class SqueezeExcite(nn.Layer):
    """Channel attention ``x * gate(fc2(relu(fc1(avgpool(x)))))``, ``[N, C, H, W]`` in and out: 1x1 convs ``fc1``
    (``max(1, C // reduction)`` wide) and ``fc2``, attribute names ``names`` (PP-LCNet's ``("conv1", "conv2")``);
    ``gate``: ``F.sigmoid`` (the paper's) or ``F.hardsigmoid`` (MobileNetV3's, PP-LCNet's).
    """

    def __init__(self, channels, reduction=16, gate=F.sigmoid, names=("fc1", "fc2")):
        super().__init__()
        self.gate, self._names = gate, names
        hidden = max(1, channels // reduction)
        setattr(self, names[0], nn.Conv2D(channels, hidden, 1))
        setattr(self, names[1], nn.Conv2D(hidden, channels, 1))

    def scale(self, x):
        """Per-channel scales in [0, 1], ``[N, C, 1, 1]``."""
        squeeze, excite = (getattr(self, name) for name in self._names)
        return self.gate(excite(F.relu(squeeze(F.adaptive_avg_pool2d(x, 1)))))

    def forward(self, x):
        return x * self.scale(x)
