"""``cct_keras_cifar``: the Keras 3 CCT of seed 002 (keras.io "Compact Convolutional Transformers"), layer for
layer; docs/cct.md lists how it differs from SHI-Labs' ``cct_2_3x2_32``. Keras 3 ``.weights.h5`` files convert with
``tools/convert_weights.py --model cct_keras_cifar`` (:mod:`weights_bridge.keras_cct`).
"""

import math

import numpy as np
import paddle
import paddle.nn.functional as F
from paddle import nn

from ..cards import ModelCard
from ..layers import DropPath, MultiHeadSelfAttention, SeqPool
from ..layers.position_embedding import resize_grid_embedding
from ..registry import register_model

__all__ = ["KerasCCT", "cct_keras_cifar"]


def _xavier_uniform(fan_in, fan_out):
    return nn.initializer.Uniform(-math.sqrt(6.0 / (fan_in + fan_out)), math.sqrt(6.0 / (fan_in + fan_out)))


def gelu_tanh(x):
    """GELU's tanh approximation (``keras.ops.gelu``'s), written out for ONNX export (docs/deployment.md)."""
    return 0.5 * x * (1.0 + paddle.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


class ZeroPadSameMaxPool(nn.Layer):
    """Keras's ``ZeroPadding2D(1)`` then ``MaxPool2D(3, 2, padding="same")`` (the odd pixel of padding at the
    bottom and right) as one max pooling, exact for a non-negative input (it follows a ReLU); no pad op, which
    paddle2onnx exports wrongly (docs/deployment.md). ``[N, C, H, W] -> [N, C, ceil(H / 2) + 1, ceil(W / 2) + 1]``.
    """

    def forward(self, x):
        pads = []
        for size in x.shape[2:]:
            if size < 0:
                raise ValueError("the Keras CCT tokenizer needs a fixed image height and width "
                                 "(export it with a fixed input shape)")
            padded = size + 2
            same = max((math.ceil(padded / 2) - 1) * 2 + 3 - padded, 0)  # TensorFlow's total "same" padding
            pads += [1 + same // 2, 1 + same - same // 2]
        return F.max_pool2d(x, 3, stride=2, padding=pads)


class KerasTokenizer(nn.Sequential):
    """Stages of Conv2D(k, "valid", no bias, He normal) -> ReLU -> :class:`ZeroPadSameMaxPool`:
    ``[N, C_in, H, W] -> [N, C_out, ceil(H / 2^s), ceil(W / 2^s)]`` (3x3 kernels)."""

    def __init__(self, widths=(64, 128), in_channels=3, kernel_size=3):
        channels = [in_channels, *widths]
        super().__init__(*[
            nn.Sequential(
                nn.Conv2D(channels[i], channels[i + 1], kernel_size, bias_attr=False,
                          weight_attr=nn.initializer.KaimingNormal()),
                nn.ReLU(),
                ZeroPadSameMaxPool(),
            )
            for i in range(len(widths))
        ])
        self.kernel_size = kernel_size

    def grid_size(self, height, width):
        """The ``(H', W')`` token grid of an ``H x W`` image."""
        for _ in range(len(self)):
            height, width = (math.ceil((s - self.kernel_size + 3) / 2) for s in (height, width))
        return height, width


class KerasEncoderLayer(nn.Layer):
    """Keras's CCT block: ``x + sd(attn(norm1(x)))``, then ``x + sd(mlp(norm2(x)))``; ``head_dim`` is Keras's
    ``key_dim``, ``hidden_units`` the MLP's GELU widths (the last ``dim``). ``[N, L, C]`` in and out."""

    def __init__(self, dim=128, num_heads=2, head_dim=128, hidden_units=(128, 128), dropout=0.1,
                 drop_path_rate=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, epsilon=1e-5)
        self.attn = MultiHeadSelfAttention(dim, num_heads, attention_dropout=dropout, projection_dropout=0.0,
                                           head_dim=head_dim, qkv_bias=True)
        # Keras's glorot_uniform on the einsum kernels [C, heads, D] and [heads, D, C]
        inner = num_heads * head_dim
        _xavier_uniform(num_heads * dim, head_dim * dim)(self.attn.qkv.weight)
        _xavier_uniform(inner, dim * num_heads)(self.attn.proj.weight)
        nn.initializer.Constant(0.0)(self.attn.qkv.bias)
        self.norm2 = nn.LayerNorm(dim, epsilon=1e-5)
        widths = [dim, *hidden_units]
        self.mlp = nn.LayerList([nn.Linear(widths[i], widths[i + 1]) for i in range(len(hidden_units))])
        self.dropout = nn.Dropout(dropout)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x):
        x = x + self.drop_path(self.attn(self.norm1(x)))
        y = self.norm2(x)
        for linear in self.mlp:
            y = self.dropout(gelu_tanh(linear(y)))
        return x + self.drop_path(y)


class KerasCCT(nn.Layer):
    """The Keras example's CCT; ``img_size``: the side the embedding is made for, ``widths``: tokenizer channels
    (the last is the token width). ``[N, 3, H, W]`` pixels / 255 in, ``[N, num_classes]`` logits out."""

    def __init__(self, num_classes=10, img_size=32, widths=(64, 128), num_layers=2, num_heads=2,
                 head_dim=128, stochastic_depth=0.1, dropout=0.1, in_channels=3):
        super().__init__()
        dim = widths[-1]
        self.tokenizer = KerasTokenizer(widths, in_channels)
        self.grid = self.tokenizer.grid_size(img_size, img_size)
        length = self.grid[0] * self.grid[1]
        self.positional_emb = self.create_parameter([1, length, dim],
                                                    default_initializer=_xavier_uniform(length, dim))
        self.blocks = nn.LayerList([
            KerasEncoderLayer(dim, num_heads, head_dim, (dim, dim), dropout, float(rate))
            for rate in np.linspace(0.0, stochastic_depth, num_layers)
        ])
        self.norm = nn.LayerNorm(dim, epsilon=1e-5)
        self.attention_pool = SeqPool(dim)
        self.fc = nn.Linear(dim, num_classes)
        for linear in [self.attention_pool, self.fc, *(m for b in self.blocks for m in b.mlp)]:
            nn.initializer.XavierUniform()(linear.weight)
            nn.initializer.Constant(0.0)(linear.bias)

    def forward(self, x):
        tokens = self.tokenizer(x)  # [N, C, H', W']
        grid = tuple(tokens.shape[2:])
        embedding = self.positional_emb
        if grid != self.grid:
            embedding = resize_grid_embedding(embedding, self.grid, grid)
        x = tokens.flatten(2).transpose([0, 2, 1]) + embedding
        for block in self.blocks:
            x = block(x)
        return self.fc(self.attention_pool(self.norm(x)))


#: Pixels / 255 (no mean/std: Keras's Rescaling(1/255) is all the seed does), 32x32 CIFAR-10.
KERAS_CIFAR_CARD = ModelCard(input_size=(3, 32, 32), mean=(0.0,) * 3, std=(1.0,) * 3, num_classes=10,
                             upstream="keras-team/keras-io (examples/vision/cct.py)",
                             layout="paddle_conv (Keras .weights.h5 via weights_bridge.keras_cct)",
                             quick_check={"kwargs": {}, "input_size": (3, 32, 32), "fixed_size": True},
                             torch_reference=False)  # its weights come from Keras (weights_bridge.keras_cct)


@register_model(card=KERAS_CIFAR_CARD)
def cct_keras_cifar(num_classes=10, img_size=32, **kwargs):
    """The Keras example's CCT (seed 002), keywords as :class:`KerasCCT`: ``[N, 3, H, W]`` -> ``[N, num_classes]``."""
    return KerasCCT(num_classes=num_classes, img_size=img_size, **kwargs)
