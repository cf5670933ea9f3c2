"""Position embeddings for token grids: ``learnable``, ``sine`` (fixed, arXiv 1706.03762, as CCT) or ``none``."""

import numpy as np
import paddle
from paddle.nn import functional as F

from ..errors import ConfigError

POSITION_EMBEDDINGS = ("learnable", "sine", "none")


def check_position_embedding(kind):
    """Return ``kind`` if it is one of :data:`POSITION_EMBEDDINGS`, else raise ConfigError."""
    if kind not in POSITION_EMBEDDINGS:
        raise ConfigError(f"unknown positional_embedding {kind!r}; "
                          f"use one of {', '.join(POSITION_EMBEDDINGS)}")
    return kind


def sinusoidal_embedding(length, dim):
    """Fixed embedding ``[1, length, dim]`` (float32): for token ``p`` and channel ``i``,
    ``angle = p / 10000 ** (2 * (i // 2) / dim)``; even channels ``sin(angle)``, odd ``cos``.
    """
    position = np.arange(length, dtype=np.float64)[:, None]
    channel = np.arange(dim)[None, :]
    # Angles rounded to float32 before sin/cos, as upstream CCT computes them.
    angle = (position / 10000.0 ** (2 * (channel // 2) / dim)).astype(np.float32)
    table = np.where(channel % 2 == 0, np.sin(angle), np.cos(angle))
    return paddle.to_tensor(table[None])


def resize_grid_embedding(embedding, old_grid, new_grid):
    """Bicubically resize ``embedding`` ``[1, h * w, C]`` (row-major over ``old_grid = (h, w)``) to
    ``[1, h' * w', C]`` over ``new_grid = (h', w')``, as ViT does at a new resolution."""
    (height, width), new_grid = tuple(old_grid), tuple(new_grid)
    if embedding.shape[1] != height * width:
        raise ValueError(f"embedding has {embedding.shape[1]} tokens, not the {height}x{width} "
                         f"of its grid {old_grid}")
    if (height, width) == new_grid:
        return embedding
    dim = embedding.shape[-1]
    grid = embedding.reshape([1, height, width, dim]).transpose([0, 3, 1, 2])
    grid = F.interpolate(grid, size=list(new_grid), mode="bicubic", align_corners=False)
    return grid.transpose([0, 2, 3, 1]).reshape([1, new_grid[0] * new_grid[1], dim])
