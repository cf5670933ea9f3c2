"""PyTorch reference of CCT in SHI-Labs/Compact-Transformers' state-dict layout, with its own architecture
table (:data:`WIDTHS`, written from upstream's builders, not the Paddle model's); ``*_sine`` references hold
the fixed sinusoidal embedding (``requires_grad=False``)."""

import functools
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from paddle_conv.registry import register_reference

#: upstream's ``cct_<layers>``: layers -> (heads, MLP ratio, embedding width)
WIDTHS = {2: (2, 1, 128), 4: (2, 1, 128), 6: (4, 2, 256), 7: (4, 2, 256), 14: (6, 3, 384)}
#: upstream's registered variants and the number of classes of their data set (CIFAR-10, Flowers-102, ImageNet)
VARIANTS = {"cct_2_3x2_32": 10, "cct_4_3x2_32": 10, "cct_6_3x1_32": 10, "cct_6_3x2_32": 10,
            "cct_7_3x1_32": 10, "cct_7_3x2_32": 10, "cct_7_7x2_224": 102, "cct_14_7x2_224": 1000,
            "cct_14_7x2_384": 1000}


class _DropPath(nn.Module):
    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if not self.training or self.drop_prob == 0.0:
            return x
        keep = 1.0 - self.drop_prob
        mask = torch.floor(keep + torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype))
        return x / keep * mask


class _Attention(nn.Module):
    def __init__(self, dim, num_heads, attention_dropout, projection_dropout):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.attn_drop = nn.Dropout(attention_dropout)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(projection_dropout)

    def forward(self, x):
        batch, length, dim = x.shape
        heads = self.qkv(x).view(batch, length, 3, self.num_heads, dim // self.num_heads)
        q, k, v = heads.permute(2, 0, 3, 1, 4)
        weights = self.attn_drop(torch.softmax(q @ k.transpose(-2, -1) * self.scale, dim=-1))
        out = (weights @ v).transpose(1, 2).reshape(batch, length, dim)
        return self.proj_drop(self.proj(out))


class _EncoderLayer(nn.Module):
    def __init__(self, dim, num_heads, dim_feedforward, dropout, attention_dropout, drop_path_rate):
        super().__init__()
        self.pre_norm = nn.LayerNorm(dim)
        self.self_attn = _Attention(dim, num_heads, attention_dropout, dropout)
        self.linear1 = nn.Linear(dim, dim_feedforward)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.linear2 = nn.Linear(dim_feedforward, dim)
        self.dropout2 = nn.Dropout(dropout)
        self.drop_path = _DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x):
        x = self.norm1(x + self.drop_path(self.self_attn(self.pre_norm(x))))
        mlp = self.linear2(self.dropout1(F.gelu(self.linear1(x))))
        return x + self.drop_path(self.dropout2(mlp))


def _sinusoid(length, dim):
    table = torch.tensor([[p / 10000 ** (2 * (i // 2) / dim) for i in range(dim)]
                          for p in range(length)], dtype=torch.float32)
    table[:, 0::2], table[:, 1::2] = table[:, 0::2].sin(), table[:, 1::2].cos()
    return table.unsqueeze(0)


class _Classifier(nn.Module):
    def __init__(self, length, embedding_dim, num_layers, num_heads, mlp_ratio, num_classes,
                 dropout, attention_dropout, stochastic_depth, positional_embedding):
        super().__init__()
        self.attention_pool = nn.Linear(embedding_dim, 1)
        if positional_embedding == "learnable":
            self.positional_emb = nn.Parameter(torch.zeros(1, length, embedding_dim))
            nn.init.trunc_normal_(self.positional_emb, std=0.2)
        elif positional_embedding == "sine":
            self.positional_emb = nn.Parameter(_sinusoid(length, embedding_dim), requires_grad=False)
        else:
            self.positional_emb = None
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            _EncoderLayer(embedding_dim, num_heads, int(embedding_dim * mlp_ratio), dropout, attention_dropout, rate)
            for rate in np.linspace(0.0, stochastic_depth, num_layers))
        self.norm = nn.LayerNorm(embedding_dim)
        self.fc = nn.Linear(embedding_dim, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x):
        if self.positional_emb is not None:
            x = x + self.positional_emb
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        pool = torch.softmax(self.attention_pool(x), dim=1).transpose(-1, -2)
        return self.fc((pool @ x).squeeze(-2))


class TorchCCT(nn.Module):
    """Torch CCT taking paddle_conv's ``CCT`` arguments (the architecture ones from :func:`cct_config`)."""

    def __init__(self, *, img_size, embedding_dim, n_conv_layers, kernel_size, stride, padding,
                 num_layers, num_heads, mlp_ratio, num_classes, positional_embedding,
                 in_channels=3, dropout=0.0, attention_dropout=0.1, stochastic_depth=0.1,
                 pooling_kernel_size=3, pooling_stride=2, pooling_padding=1):
        super().__init__()
        widths = [in_channels] + [64] * (n_conv_layers - 1) + [embedding_dim]
        stages = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            conv = nn.Conv2d(cin, cout, kernel_size, stride, padding, bias=False)
            nn.init.kaiming_normal_(conv.weight)
            pool = nn.MaxPool2d(pooling_kernel_size, pooling_stride, pooling_padding)
            stages.append(nn.Sequential(conv, nn.ReLU(), pool))
        self.tokenizer = nn.Module()
        self.tokenizer.conv_layers = nn.Sequential(*stages)
        height, width = (img_size, img_size) if isinstance(img_size, int) else img_size
        for _ in stages:
            height, width = (math.floor((s + 2 * padding - kernel_size) / stride) + 1 for s in (height, width))
            height, width = (math.floor((s + 2 * pooling_padding - pooling_kernel_size) / pooling_stride) + 1
                             for s in (height, width))
        self.classifier = _Classifier(height * width, embedding_dim, num_layers, num_heads, mlp_ratio, num_classes,
                                      dropout, attention_dropout, stochastic_depth, positional_embedding)

    def forward(self, x):
        tokens = self.tokenizer.conv_layers(x).flatten(2).transpose(1, 2)
        return self.classifier(tokens)


def cct_config(name):
    """:class:`TorchCCT` keywords of the registered name (``cct_7_3x1_32``, ``..._sine``)."""
    base = name.removesuffix("_sine")
    _, layers, conv, size = base.split("_")
    kernel, n_conv = (int(v) for v in conv.split("x"))
    heads, mlp_ratio, dim = WIDTHS[int(layers)]
    return {"num_layers": int(layers), "num_heads": heads, "mlp_ratio": mlp_ratio, "embedding_dim": dim,
            "kernel_size": kernel, "stride": max(1, kernel // 2 - 1), "padding": max(1, kernel // 2),
            "n_conv_layers": n_conv, "img_size": int(size), "num_classes": VARIANTS[base],
            "positional_embedding": "sine" if name.endswith("_sine") else "learnable"}


for _name in [*VARIANTS, *(f"{v}_sine" for v in VARIANTS)]:
    register_reference(functools.partial(TorchCCT, **cct_config(_name)), name=_name)
del _name
