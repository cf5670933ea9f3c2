"""Stochastic depth ("drop path"): drop a whole residual branch per sample.

Huang et al., *Deep Networks with Stochastic Depth*, ECCV 2016 (arXiv 1603.09382).
"""

import paddle
from paddle import nn


def drop_path(x, drop_prob=0.0, training=False):
    """Zero the residual branch ``x`` of a random subset of samples, rescaling the rest.

    Args:
        x: a batch ``[N, ...]`` (any rank): the output of a residual branch.
        drop_prob: probability that a sample's branch is dropped, in ``[0, 1)``.
        training: dropping happens only in training; in eval ``x`` is returned as is.

    Returns:
        ``x`` with each sample either zeroed or divided by ``1 - drop_prob`` (so the
        expectation is unchanged).
    """
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    mask_shape = [x.shape[0]] + [1] * (x.ndim - 1)
    keep = paddle.floor(keep_prob + paddle.rand(mask_shape, dtype=x.dtype))
    return x * (keep / keep_prob)  # one pass over x: the division is on the [N, 1, ...] mask


class DropPath(nn.Layer):
    """Layer form of :func:`drop_path`; active only in training mode.

    Args:
        drop_prob: probability of dropping a sample's branch, in ``[0, 1)``.

    Shape: any ``[N, ...]`` in, the same out.
    """

    def __init__(self, drop_prob=0.0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must be in [0, 1), got {drop_prob}; use 0 to disable")
        self.drop_prob = float(drop_prob)

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f"drop_prob={self.drop_prob}"
