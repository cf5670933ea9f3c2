"""Multi-head self-attention (arXiv 1706.03762) with CCT's and ViT's layout: ``qkv`` without bias, ``proj`` with."""

from paddle import nn
from paddle.nn import functional as F


class _TransposingLinear(nn.Linear):
    """An ``nn.Linear`` (same parameters) that also swaps tokens and channels, as one matmul with
    transpose flags instead of strided copies: ``[N, L, in] -> [N, out, L]`` (``channels_first_out``)
    or ``[N, in, L] -> [N, L, out]``. ``paddle.flops`` counts it as the Linear it is."""

    def __init__(self, in_features, out_features, bias_attr=None, channels_first_out=True):
        super().__init__(in_features, out_features, bias_attr=bias_attr)
        self.channels_first_out = channels_first_out

    def forward(self, x):
        if self.channels_first_out:
            y = self.weight.matmul(x, transpose_x=True, transpose_y=True)
            return y if self.bias is None else y + self.bias.unsqueeze(-1)
        y = x.matmul(self.weight, transpose_x=True)
        return y if self.bias is None else y + self.bias


class MultiHeadSelfAttention(nn.Layer):
    """Scaled dot-product self-attention over tokens ``[N, L, C] -> [N, L, C]``; ``head_dim`` ``D`` (None:
    ``C / num_heads``) is Keras's ``key_dim``, ``qkv_bias`` its query/key/value bias. Parameters: ``qkv.weight
    [C, 3 * heads * D]`` (columns q, k, v, each head-major), ``proj.weight [heads * D, C]``, ``proj.bias [C]``.
    """

    def __init__(self, dim, num_heads=8, attention_dropout=0.1, projection_dropout=0.1, head_dim=None,
                 qkv_bias=False):
        super().__init__()
        if head_dim is None and dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}; pick a divisor")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads if head_dim is None else head_dim
        self.scale = self.head_dim ** -0.5
        inner = num_heads * self.head_dim
        self.qkv = _TransposingLinear(dim, inner * 3, bias_attr=None if qkv_bias else False)
        self.attn_drop = nn.Dropout(attention_dropout)
        self.proj = _TransposingLinear(inner, dim, channels_first_out=False)
        self.proj_drop = nn.Dropout(projection_dropout)

    def forward(self, x):
        """Heads on transposed tokens ``[N, heads, D, L]``: transpose flags instead of slow strided copies."""
        batch, length, _ = x.shape
        inner = self.num_heads * self.head_dim
        qkv = self.qkv(x)  # [N, 3 * inner, L]
        q, k, v = qkv.reshape([batch, 3, self.num_heads, self.head_dim, length]).unbind(1)
        weights = F.softmax((q * self.scale).matmul(k, transpose_x=True), axis=-1)  # [N, heads, L, L]
        out = v.matmul(self.attn_drop(weights), transpose_y=True).reshape([batch, inner, length])
        return self.proj_drop(self.proj(out))
