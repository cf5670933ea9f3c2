"""Sequence pooling (attention pooling over tokens) of CCT (Hassani et al., *Escaping the Big
Data Paradigm with Compact Transformers*, arXiv 2104.05704), replacing ViT's class token.
"""

from paddle import nn
from paddle.nn import functional as F


class SeqPool(nn.Linear):
    """Score each token with a linear layer, softmax the scores over the sequence, and return
    the score-weighted sum of the tokens.

    ``SeqPool`` *is* the ``Linear(dim, 1)`` scoring layer, so its parameters are just
    ``weight [dim, 1]`` and ``bias [1]`` and it can stand where upstream CCT has its
    ``attention_pool`` linear layer (same state-dict names).

    Args:
        dim: token width ``C``.

    Shape: ``[N, L, C]`` in, ``[N, C]`` out.
    """

    def __init__(self, dim):
        super().__init__(dim, 1)

    def forward(self, x):
        weights = F.softmax(super().forward(x), axis=1)  # [N, L, 1]
        return weights.matmul(x, transpose_x=True).squeeze(1)
