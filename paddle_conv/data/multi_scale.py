"""Multi-scale training as PaddleClas does it: every batch has one image size (docs/paddleclas.md).

:class:`MultiScaleSampler` yields ``[(width, height, index), ...]`` per batch; :class:`MultiScaleDataset` reads
sample ``index`` at that size. The largest batch must fit in half the available memory (held twice: arrays, tensor).
"""

import math
import os
import random

import numpy as np
import paddle

from ..errors import ConfigError, abbreviate
from ..registry import register_dataset
from .common import as_label, load_sample
from .imagenet import ImageNetDataset
from .samplers import SAMPLERS
from .transforms import build_transforms

#: Largest image side of a scale, in pixels (PaddleClas's multi-scale configs use at most 320).
MAX_SCALE = 4096
#: The ops whose output size the batch's size replaces (all their arguments, as in PaddleClas).
SIZED_OPS = ("RandCropImage", "ResizeImage", "CropImage")


def scale_sizes(scales):
    """``[(w, h)]`` of ``scales`` (integers, or ``[w, h]`` pairs); None if it is neither."""
    if isinstance(scales, (list, tuple)) and scales:
        if all(_positive_int(s) for s in scales):
            return [(s, s) for s in scales]
        if all(isinstance(s, (list, tuple)) and len(s) == 2 and all(map(_positive_int, s)) for s in scales):
            return [(s[0], s[1]) for s in scales]
    return None


def _positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def multi_scale_problem(scales, first_bs, divided_factor=32, is_training=True):
    """``(key, text)`` of the first unusable :class:`MultiScaleSampler` argument, None if all are fine."""
    sizes = scale_sizes(scales)
    if sizes is None:
        return "scales", (f"expected a list of positive sizes (e.g. [160, 224, 288]) or of [width, height] "
                          f"pairs, got {abbreviate(scales, 80)}")
    for key, value in (("first_bs", first_bs), ("divided_factor", divided_factor)):
        if not _positive_int(value):
            return key, f"expected an integer >= 1, got {value!r}"
    if max(max(s) for s in sizes) > MAX_SCALE:
        return "scales", (f"every size must be at most {MAX_SCALE} pixels (MAX_SCALE), got "
                          f"{max(max(s) for s in sizes)}")
    if is_training and min(min(s) for s in sizes) < divided_factor:
        return "scales", (f"every size must be at least divided_factor={divided_factor} (training sizes are "
                          f"rounded down to its multiples), got {abbreviate(scales, 80)}")
    return None


def available_memory():
    """Bytes of memory available now (Linux ``MemAvailable``; elsewhere the physical memory), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            return next(int(line.split()[1]) * 1024 for line in info if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


@SAMPLERS.register
class MultiScaleSampler(paddle.io.Sampler):
    """Batches of ``[(width, height, index)]``, one size per batch (PaddleClas's sampler).

    Scale ``(w, h)`` takes ``int(w0 * h0 * first_bs / (w * h))`` images after rounding to ``divided_factor``
    (``is_training: false``: the first scale only). The batch sizes are drawn from ``seed`` once, the order of
    epoch ``e`` from ``(seed, e)``; each process takes every ``world_size``-th sample.
    """

    def __init__(self, data_source, scales, first_bs, divided_factor=32, is_training=True, shuffle=True, seed=0):
        problem = multi_scale_problem(scales, first_bs, divided_factor, is_training)
        if problem is not None:
            raise ConfigError(f"MultiScaleSampler.{problem[0]}: {problem[1]}")
        super().__init__(data_source)
        base_w, base_h = scale_sizes(scales)[0]
        if is_training:
            pixels = base_w * base_h * first_bs
            rounded = [(w // divided_factor * divided_factor, h // divided_factor * divided_factor)
                       for w, h in scale_sizes(scales)]
            self.scales = [(w, h, max(1, int(pixels / (w * h)))) for w, h in rounded]
        else:
            self.scales = [(base_w, base_h, first_bs)]
        width, height, size = max(self.scales, key=lambda s: s[0] * s[1] * s[2])  # the largest batch, as float32
        needed, available = size * 3 * height * width * 4, available_memory()
        if available is not None and needed > available // 2:
            raise ConfigError(f"MultiScaleSampler.first_bs: a batch of {size} images of {width}x{height} needs "
                              f"{needed / 2**30:.1f} GiB as float32, more than half of the {available / 2**30:.1f} "
                              "GiB of memory available; lower first_bs or the scales")
        self.num_replicas = paddle.distributed.get_world_size()
        self.rank = paddle.distributed.get_rank()
        self.per_replica = math.ceil(len(data_source) / self.num_replicas)
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        draw = random.Random(seed)
        self.batches, covered = [], 0  # [(w, h, batch size)] in order, the same every epoch
        while covered < self.per_replica:
            self.batches.append(draw.choice(self.scales))
            covered += self.batches[-1][2]

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        order = np.arange(len(self.data_source))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        mine = order[self.rank::self.num_replicas].tolist()
        start = 0
        for width, height, size in self.batches:
            ids = [mine[(start + i) % len(mine)] for i in range(size)]
            start += size
            yield [(width, height, i) for i in ids]

    def __len__(self):
        return len(self.batches)


@register_dataset
class MultiScaleDataset(ImageNetDataset):
    """An :class:`ImageNetDataset` whose item ``(width, height, index)`` is sample ``index`` through
    ``transform_ops`` with its :data:`SIZED_OPS` (one is needed) replaced by ``{size: [width, height]}``."""

    def __init__(self, image_root, cls_label_path, transform_ops=None, delimiter=None, num_classes=None):
        names = [name for op in transform_ops or () for name in op]
        if not any(name in SIZED_OPS for name in names):
            raise ConfigError(f"MultiScaleDataset.transform_ops: needs one of {', '.join(SIZED_OPS)} (the op "
                              f"that makes the batch's image size), got {names}")
        super().__init__(image_root, cls_label_path, delimiter=delimiter, num_classes=num_classes)
        self.transform_ops, self._transforms = transform_ops, {}

    def transform_at(self, width, height):
        """The transforms that make ``width`` x ``height`` images (built once per size)."""
        if (width, height) not in self._transforms:
            ops = [{name: {"size": [width, height]}} if name in SIZED_OPS else {name: args}
                   for op in self.transform_ops for name, args in op.items()]
            self._transforms[width, height] = build_transforms(ops)
        return self._transforms[width, height]

    def __getitem__(self, item):
        width, height, idx = item
        path, label, where = self.samples[idx]
        return load_sample(path, self.transform_at(width, height), f"listed at {where}"), as_label(label)
