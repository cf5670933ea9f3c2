"""Multi-head self-attention with a bias-free fused qkv projection.

Vaswani et al., *Attention Is All You Need*, NeurIPS 2017 (arXiv 1706.03762); the layout
(``qkv`` without bias, ``proj`` with bias) is the one CCT (arXiv 2104.05704) and ViT use.
"""

from paddle import nn
from paddle.nn import functional as F


class MultiHeadSelfAttention(nn.Layer):
    """Scaled dot-product self-attention over a token sequence.

    Args:
        dim: token width ``C``; must be divisible by ``num_heads``.
        num_heads: number of attention heads.
        attention_dropout: dropout on the attention weights.
        projection_dropout: dropout after the output projection.

    Shape: ``[N, L, C]`` in, ``[N, L, C]`` out.

    Parameters: ``qkv.weight [C, 3C]`` (no bias), ``proj.weight [C, C]``, ``proj.bias [C]``.
    """

    def __init__(self, dim, num_heads=8, attention_dropout=0.1, projection_dropout=0.1):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}; pick a divisor")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias_attr=False)
        self.attn_drop = nn.Dropout(attention_dropout)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(projection_dropout)

    def forward(self, x):
        batch, length, dim = x.shape
        qkv = self.qkv(x).reshape([batch, length, 3, self.num_heads, dim // self.num_heads])
        q, k, v = qkv.transpose([2, 0, 3, 1, 4]).unbind(0)  # each [N, heads, L, C/heads]
        weights = F.softmax(q.matmul(k, transpose_y=True) * self.scale, axis=-1)
        out = self.attn_drop(weights).matmul(v)  # [N, heads, L, C/heads]
        out = out.transpose([0, 2, 1, 3]).reshape([batch, length, dim])
        return self.proj_drop(self.proj(out))
