"""Sequence pooling (attention pooling over tokens) of CCT (arXiv 2104.05704), replacing ViT's class token."""

from paddle import nn
from paddle.nn import functional as F


class SeqPool(nn.Linear):
    """The softmax-over-tokens weighted sum of the tokens, ``[N, L, C] -> [N, C]``; ``SeqPool`` *is* the
    ``Linear(dim, 1)`` scoring layer (upstream CCT's ``attention_pool``, same state-dict names)."""

    def __init__(self, dim):
        super().__init__(dim, 1)

    def forward(self, x):
        weights = F.softmax(super().forward(x), axis=1)  # [N, L, 1]
        return weights.matmul(x, transpose_x=True).squeeze(1)
