"""SSD prior (default) boxes from a feature-map configuration (Liu et al., *SSD*, ECCV 2016)."""

import itertools
import math

import numpy as np
import paddle

from ..errors import ConfigError

#: The SSD300 VOC configuration (Liu et al. 2016; the layout of amdegroot/ssd.pytorch).
VOC_SSD300 = {
    "feature_maps": [38, 19, 10, 5, 3, 1],
    "min_dim": 300,
    "steps": [8, 16, 32, 64, 100, 300],
    "min_sizes": [30, 60, 111, 162, 213, 264],
    "max_sizes": [60, 111, 162, 213, 264, 315],
    "aspect_ratios": [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
    "variance": [0.1, 0.2],
    "clip": True,
}

_PER_MAP = ("feature_maps", "steps", "min_sizes", "max_sizes", "aspect_ratios")


def num_priors_per_cell(aspect_ratios):
    """Boxes at one cell of a map with these extra aspect ratios: ``2 + 2 * len(aspect_ratios)``."""
    return 2 + 2 * len(aspect_ratios)


def check_prior_config(cfg):
    """Raise ConfigError unless ``cfg`` has the per-map lists of equal length and positive sizes."""
    missing = [k for k in (*_PER_MAP, "min_dim") if k not in cfg]
    if missing:
        raise ConfigError(f"prior-box config lacks {', '.join(missing)}; give all of "
                          f"{', '.join((*_PER_MAP, 'min_dim'))} (see paddle_conv.det.VOC_SSD300)")
    lengths = {k: len(cfg[k]) for k in _PER_MAP}
    if len(set(lengths.values())) != 1:
        raise ConfigError(f"prior-box config lists must have one entry per feature map, got lengths {lengths}")
    if any(v <= 0 for v in cfg.get("variance", (0.1, 0.2))):
        raise ConfigError(f"prior-box variances must be > 0, got {cfg['variance']}")
    if any(s <= 0 for s in cfg["min_sizes"]) or any(mx < mn for mn, mx in zip(cfg["min_sizes"], cfg["max_sizes"])):
        raise ConfigError("prior-box min_sizes must be > 0 and max_sizes[k] >= min_sizes[k]")


def prior_boxes(cfg):
    """Prior boxes ``[P, 4]`` as ``(cx, cy, w, h)`` relative to the image (float32 Paddle tensor) of ``cfg``
    (a dict as :data:`VOC_SSD300`, which gives ``P = 8732``): per cell two squares and two boxes per aspect ratio."""
    check_prior_config(cfg)
    dim = float(cfg["min_dim"])
    rows = []
    for f, step, mn, mx, ratios in zip(*(cfg[k] for k in _PER_MAP)):
        f_k = dim / step
        s = mn / dim
        s_prime = math.sqrt(s * (mx / dim))
        shapes = [(s, s), (s_prime, s_prime)]
        for a in ratios:
            r = math.sqrt(a)
            shapes += [(s * r, s / r), (s / r, s * r)]
        for i, j in itertools.product(range(f), repeat=2):
            cx, cy = (j + 0.5) / f_k, (i + 0.5) / f_k
            rows.extend((cx, cy, w, h) for w, h in shapes)
    priors = np.asarray(rows, dtype="float32")
    if cfg.get("clip", True):
        np.clip(priors, 0.0, 1.0, out=priors)
    return paddle.to_tensor(priors)
