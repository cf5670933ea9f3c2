"""The transformer encoder layer of CCT (arXiv 2104.05704), as SHI-Labs' implementation, parameter names included.

``norm1`` normalises the residual stream itself (not just the MLP's input), as upstream does.
"""

from paddle import nn
from paddle.nn import functional as F

from .addmm_linear import AddmmLinear
from .attention import MultiHeadSelfAttention
from .drop_path import DropPath


class TransformerEncoderLayer(nn.Layer):
    """Pre-norm self-attention block plus a GELU MLP (``dim_feedforward`` wide), with dropout and stochastic
    depth ``drop_path_rate`` on both residual branches: ``[N, L, C] -> [N, L, C]``."""

    def __init__(self, dim, num_heads, dim_feedforward=2048, dropout=0.1,
                 attention_dropout=0.1, drop_path_rate=0.1):
        super().__init__()
        self.pre_norm = nn.LayerNorm(dim)
        self.self_attn = MultiHeadSelfAttention(dim, num_heads, attention_dropout=attention_dropout,
                                                projection_dropout=dropout)
        self.linear1 = AddmmLinear(dim, dim_feedforward)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.linear2 = AddmmLinear(dim_feedforward, dim)
        self.dropout2 = nn.Dropout(dropout)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x):
        x = x + self.drop_path(self.self_attn(self.pre_norm(x)))
        x = self.norm1(x)
        mlp = self.linear2(self.dropout1(F.gelu(self.linear1(x))))
        return x + self.drop_path(self.dropout2(mlp))
