"""Stochastic depth ("drop path", arXiv 1603.09382): drop a whole residual branch per sample."""

import paddle
from paddle import nn


def drop_path(x, drop_prob=0.0, training=False):
    """Zero the residual branch ``x`` ``[N, ...]`` of each sample with probability ``drop_prob`` and divide the
    rest by ``1 - drop_prob``, in training only (else ``x`` as is)."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    mask_shape = [x.shape[0]] + [1] * (x.ndim - 1)
    keep = paddle.floor(keep_prob + paddle.rand(mask_shape, dtype=x.dtype))
    return x * (keep / keep_prob)  # one pass over x: the division is on the [N, 1, ...] mask


class DropPath(nn.Layer):
    """Layer form of :func:`drop_path` (``drop_prob`` in ``[0, 1)``); ``[N, ...]`` in and out."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}; use 0 to disable")
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f"drop_prob={self.drop_prob}"
