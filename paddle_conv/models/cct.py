"""CCT (Hassani et al., arXiv 2104.05704) in SHI-Labs/Compact-Transformers' names and state-dict layout:
``cct_<layers>_<kernel>x<conv layers>_<img size>[_sine]``; docs/cct.md says what differs from upstream.
"""

import numpy as np
import paddle
from paddle import nn

from ..cards import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD, ModelCard, WeightEntry
from ..layers import SeqPool, Tokenizer, TransformerEncoderLayer
from ..layers.position_embedding import check_position_embedding, resize_grid_embedding, sinusoidal_embedding
from ..registry import register_variant

# depth -> (num_heads, mlp_ratio, embedding_dim): upstream's cct_2 ... cct_14.
WIDTHS = {2: (2, 1, 128), 4: (2, 1, 128), 6: (4, 2, 256), 7: (4, 2, 256), 14: (6, 3, 384)}


def _pair(size):
    return (size, size) if isinstance(size, int) else tuple(size)


def cct_config(name):
    """Keyword arguments of :class:`CCT` for the model ``name``, ``cct_<layers>_<kernel>x<conv stages>_<image
    size>[_sine]`` (upstream's names), e.g. ``cct_config("cct_7_3x1_32_sine")``; the class count is the builder's."""
    _, layers, conv, size = name.removesuffix("_sine").split("_")
    kernel_size, n_conv_layers = (int(v) for v in conv.split("x"))
    num_heads, mlp_ratio, embedding_dim = WIDTHS[int(layers)]
    return {
        "num_layers": int(layers), "num_heads": num_heads, "mlp_ratio": mlp_ratio,
        "embedding_dim": embedding_dim, "kernel_size": kernel_size,
        "stride": max(1, kernel_size // 2 - 1), "padding": max(1, kernel_size // 2),
        "n_conv_layers": n_conv_layers, "img_size": int(size),
        "positional_embedding": "sine" if name.endswith("_sine") else "learnable",
    }


class TransformerClassifier(nn.Layer):
    """Position embedding, transformer encoder, final LayerNorm, SeqPool and linear head.

    ``grid``: the ``(H', W')`` token grid the embedding is made for; ``stochastic_depth``: the last layer's
    drop-path rate (linear from 0); ``positional_embedding``: ``"learnable"``, ``"sine"`` or ``"none"``.
    Shape: tokens ``[N, H' * W', C]`` of any grid in, logits ``[N, num_classes]`` out.
    """

    def __init__(self, grid, embedding_dim=768, num_layers=12, num_heads=12, mlp_ratio=4.0,
                 num_classes=1000, dropout=0.1, attention_dropout=0.1, stochastic_depth=0.1,
                 positional_embedding="learnable"):
        super().__init__()
        self.positional_embedding = check_position_embedding(positional_embedding)
        self.embedding_dim = embedding_dim
        self.grid = _pair(grid)
        length = self.grid[0] * self.grid[1]
        self.attention_pool = SeqPool(embedding_dim)
        if positional_embedding == "learnable":
            self.positional_emb = self.create_parameter(
                [1, length, embedding_dim],
                default_initializer=nn.initializer.TruncatedNormal(std=0.2))
        elif positional_embedding == "sine":
            self.register_buffer("positional_emb", sinusoidal_embedding(length, embedding_dim))
        else:
            self.positional_emb = None
        self.dropout = nn.Dropout(dropout)
        rates = np.linspace(0.0, stochastic_depth, num_layers)
        self.blocks = nn.LayerList([
            TransformerEncoderLayer(embedding_dim, num_heads, int(embedding_dim * mlp_ratio),
                                    dropout=dropout, attention_dropout=attention_dropout,
                                    drop_path_rate=rate)
            for rate in rates
        ])
        self.norm = nn.LayerNorm(embedding_dim)
        self.fc = nn.Linear(embedding_dim, num_classes)
        for layer in self.sublayers():
            if isinstance(layer, nn.Linear):
                nn.initializer.TruncatedNormal(std=0.02)(layer.weight)
                if layer.bias is not None:
                    nn.initializer.Constant(0.0)(layer.bias)

    def position_embedding(self, grid):
        """The embedding ``[1, H' * W', C]`` for a ``grid = (H', W')`` of tokens, or None."""
        grid = _pair(grid)
        if self.positional_emb is None or grid == self.grid:
            return self.positional_emb
        if self.positional_embedding == "sine":
            return sinusoidal_embedding(grid[0] * grid[1], self.embedding_dim)
        return resize_grid_embedding(self.positional_emb, self.grid, grid)

    def resize_pos_embed(self, grid):
        """Move the position embedding to ``grid`` for good (learnable: bicubic resize of the
        trained values into a new parameter; sine: recomputed). Build the optimizer after."""
        grid = _pair(grid)
        if self.positional_emb is not None and grid != self.grid:
            with paddle.no_grad():
                embedding = self.position_embedding(grid)
            if self.positional_embedding == "sine":
                self.register_buffer("positional_emb", embedding)
            else:
                self.positional_emb = self.create_parameter(
                    embedding.shape, default_initializer=nn.initializer.Assign(embedding))
        self.grid = grid

    def forward(self, tokens, grid=None):
        embedding = self.position_embedding(self.grid if grid is None else grid)
        x = tokens if embedding is None else tokens + embedding
        x = self.dropout(x)
        for block in self.blocks:
            x = block(x)
        return self.fc(self.attention_pool(self.norm(x)))


class CCT(nn.Layer):
    """Compact Convolutional Transformer: :class:`~paddle_conv.layers.Tokenizer` + :class:`TransformerClassifier`.

    ``img_size`` (int or ``(H, W)``) is what the position embedding is made for; other sizes work too.
    Shape: ``[N, in_channels, H, W]`` in, ``[N, num_classes]`` out, for any ``H, W`` leaving a token.
    """

    def __init__(self, img_size=224, embedding_dim=768, in_channels=3, n_conv_layers=1,
                 kernel_size=7, stride=2, padding=3, pooling_kernel_size=3, pooling_stride=2,
                 pooling_padding=1, dropout=0.0, attention_dropout=0.1, stochastic_depth=0.1,
                 num_layers=14, num_heads=6, mlp_ratio=4.0, num_classes=1000,
                 positional_embedding="learnable"):
        super().__init__()
        self.tokenizer = Tokenizer(kernel_size, stride, padding, pooling_kernel_size,
                                   pooling_stride, pooling_padding, n_conv_layers=n_conv_layers,
                                   in_channels=in_channels, out_channels=embedding_dim)
        self.img_size = _pair(img_size)
        self.classifier = TransformerClassifier(
            self._grid(*self.img_size), embedding_dim=embedding_dim, num_layers=num_layers,
            num_heads=num_heads, mlp_ratio=mlp_ratio, num_classes=num_classes, dropout=dropout,
            attention_dropout=attention_dropout, stochastic_depth=stochastic_depth,
            positional_embedding=positional_embedding)

    def _grid(self, height, width):
        if not all(isinstance(side, int) and side > 0 for side in (height, width)):
            raise ValueError("CCT needs a known image height and width to size its tokens (a "
                             "dynamic one is given while exporting with None in them); export with "
                             f"fixed ones, e.g. input_shape=(None, 3, {self.img_size[0]}, "
                             f"{self.img_size[1]})")
        grid = self.tokenizer.grid_size(height, width)
        if min(grid) < 1:
            raise ValueError(f"a {height}x{width} image leaves no tokens after the tokenizer; "
                             f"use larger images")
        return grid

    def resize_pos_embed(self, img_size):
        """Adapt the position embedding to ``img_size`` once, instead of on every forward."""
        self.img_size = _pair(img_size)
        self.classifier.resize_pos_embed(self._grid(*self.img_size))

    def forward(self, x):
        grid = self._grid(*x.shape[2:])
        return self.classifier(self.tokenizer(x), grid)


_SHI_URL = "https://shi-labs.com/projects/cct/checkpoints/"


def _weights(model, tag, path, dataset, top1):
    """A published checkpoint of SHI-Labs/Compact-Transformers (their README's top-1)."""
    size = cct_config(model)["img_size"]
    num_classes = {"cifar-10": 10, "cifar-100": 100, "flowers-102": 102}.get(dataset, 1000)
    norm = (CIFAR10_MEAN, CIFAR10_STD) if "cifar" in dataset else (IMAGENET_MEAN, IMAGENET_STD)
    return WeightEntry(model=model, name=tag, urls=(_SHI_URL + path,), file_name=path.rsplit("/", 1)[1],
                       file_format="torch", converter="torch", license="Apache-2.0",
                       upstream="SHI-Labs/Compact-Transformers", dataset=dataset, metrics={"top1": top1},
                       num_classes=num_classes, input_size=(3, size, size), mean=norm[0], std=norm[1])


#: Published weights: ``(model, name, path under the checkpoint site, data set, top-1)``, a model's first being
#: what ``pretrained=True`` loads.
PUBLISHED = (
    ("cct_7_3x1_32", "cifar10_300ep", "pretrained/cct_7_3x1_32_cifar10_300epochs.pth", "cifar-10", 96.53),
    ("cct_7_3x1_32", "cifar100_300ep", "pretrained/cct_7_3x1_32_cifar100_300epochs.pth", "cifar-100", 80.92),
    ("cct_7_3x1_32_sine", "cifar10_5000ep", "pretrained/cct_7_3x1_32_sine_cifar10_5000epochs.pth", "cifar-10", 98.0),
    ("cct_7_3x1_32_sine", "cifar10_1500ep", "pretrained/cct_7_3x1_32_sine_cifar10_1500epochs.pth", "cifar-10", 97.48),
    ("cct_7_3x1_32_sine", "cifar100_5000ep", "pretrained/cct_7_3x1_32_sine_cifar100_5000epochs.pth", "cifar-100",
     82.87),
    ("cct_7_3x1_32_sine", "cifar100_1500ep", "pretrained/cct_7_3x1_32_sine_cifar100_1500epochs.pth", "cifar-100",
     82.72),
    ("cct_7_7x2_224_sine", "flowers102", "pretrained/cct_7_7x2_224_flowers102.pth", "flowers-102", 97.19),
    ("cct_14_7x2_224", "imagenet", "pretrained/cct_14_7x2_224_imagenet.pth", "imagenet-1k", 80.67),
    ("cct_14_7x2_384", "imagenet", "finetuned/cct_14_7x2_384_imagenet.pth", "imagenet-1k", 82.71),
    ("cct_14_7x2_384", "flowers102", "finetuned/cct_14_7x2_384_flowers102.pth", "flowers-102", 99.76),
)


def _paper(params, macs, size=32, num_classes=10, data="CIFAR-10"):
    return dict(params=params, macs=macs, size=size, num_classes=num_classes,
                source=f"Hassani et al. 2021, SHI-Labs/Compact-Transformers ({data})")


#: What the paper reports (``ModelCard.paper``).
CCT_PAPERS = {
    **{name: _paper(params, macs) for name, params, macs in (
        ("cct_2_3x2_32", 0.284e6, 0.033e9), ("cct_4_3x2_32", 0.482e6, 0.046e9),
        ("cct_6_3x2_32", 3.327e6, 0.241e9), ("cct_7_3x2_32", 3.853e6, 0.275e9),
        ("cct_6_3x1_32", 3.168e6, 0.813e9), ("cct_7_3x1_32", 3.760e6, 0.947e9))},
    "cct_14_7x2_224": _paper(22.29e6, 5.11e9, size=224, num_classes=1000, data="ImageNet"),
}


def _builder(name, num_classes):
    """Register the CCT ``name`` (:func:`cct_config`; keywords such as ``img_size``, ``dropout`` or
    ``stochastic_depth`` override it): ``[N, 3, H, W]`` (any size) -> ``[N, num_classes]``; returns the builder.
    Its card: CIFAR-10's normalisation at 32x32, ImageNet's above."""
    config = cct_config(name)
    size = config["img_size"]

    def build(num_classes=num_classes, img_size=size, **kwargs):
        return CCT(**{**config, "img_size": img_size, **kwargs, "num_classes": num_classes})

    norm = {"mean": CIFAR10_MEAN, "std": CIFAR10_STD} if size == 32 else {}
    card = ModelCard(input_size=(3, size, size), interpolation="bicubic", classifier="classifier.fc",
                     num_classes=num_classes, upstream="SHI-Labs/Compact-Transformers",
                     layout="SHI-Labs/Compact-Transformers",
                     weights=tuple(_weights(*row) for row in PUBLISHED if row[0] == name),
                     paper=CCT_PAPERS.get(name), **norm,
                     quick_check={"kwargs": {}, "input_size": (3, 32, 32), "fixed_size": True}  # token grid fixed
                     if name == "cct_2_3x2_32" else None)
    return register_variant(name, build, card,
                            f"{config['num_layers']} transformer layers, {config['n_conv_layers']} conv stage(s) of "
                            f"{config['kernel_size']}x{config['kernel_size']}, {config['positional_embedding']} "
                            f"position embedding, {config['img_size']}x{config['img_size']} images.")


def _register(name, num_classes):
    """Register upstream's CCT ``name`` and its ``_sine`` twin (a really fixed sine embedding, unlike upstream's)."""
    return _builder(name, num_classes), _builder(f"{name}_sine", num_classes)


cct_2_3x2_32, cct_2_3x2_32_sine = _register("cct_2_3x2_32", 10)
cct_4_3x2_32, cct_4_3x2_32_sine = _register("cct_4_3x2_32", 10)
cct_6_3x1_32, cct_6_3x1_32_sine = _register("cct_6_3x1_32", 10)
cct_6_3x2_32, cct_6_3x2_32_sine = _register("cct_6_3x2_32", 10)
cct_7_3x1_32, cct_7_3x1_32_sine = _register("cct_7_3x1_32", 10)
cct_7_3x2_32, cct_7_3x2_32_sine = _register("cct_7_3x2_32", 10)
cct_7_7x2_224, cct_7_7x2_224_sine = _register("cct_7_7x2_224", 102)
cct_14_7x2_224, cct_14_7x2_224_sine = _register("cct_14_7x2_224", 1000)
cct_14_7x2_384, cct_14_7x2_384_sine = _register("cct_14_7x2_384", 1000)
