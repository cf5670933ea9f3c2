"""PaddleClas's batch ops (``batch_transform_ops``): images ``[N, C, H, W]`` and labels ``[N]`` to mixed images
and soft targets ``[N, num_classes]`` (``lam * onehot(y) + (1 - lam) * onehot(y[perm])``)."""

import math

import numpy as np

from ..errors import ConfigError
from ..registry import Registry

BATCH_TRANSFORMS = Registry("batch transform")


def one_hot(labels, num_classes):
    """``[N]`` int labels to ``[N, num_classes]`` float32 one-hot rows."""
    return np.eye(num_classes, dtype="float32")[labels]


def _check(name, num_classes, alpha):
    if not num_classes:
        raise ConfigError(f"{name}: set Arch.class_num; mixed targets need the class count")
    if not (alpha > 0 and math.isfinite(alpha)):  # NaN passes a bare "<= 0" test
        raise ConfigError(f"{name}.alpha: must be a finite number > 0, got {alpha}")


@BATCH_TRANSFORMS.register
class MixupOperator:
    """Mixup (Zhang et al. 2018): ``lam ~ Beta(alpha, alpha)``, images and targets blended with a
    permutation of the batch."""

    def __init__(self, num_classes, alpha=1.0):
        _check("MixupOperator", num_classes, alpha)
        self.num_classes, self.alpha = num_classes, alpha

    def __call__(self, imgs, labels):
        perm = np.random.permutation(len(imgs))
        lam = np.random.beta(self.alpha, self.alpha)
        mixed = (lam * imgs + (1 - lam) * imgs[perm]).astype(imgs.dtype)
        return mixed, lam * one_hot(labels, self.num_classes) + (1 - lam) * one_hot(labels[perm], self.num_classes)


@BATCH_TRANSFORMS.register
class CutmixOperator:
    """CutMix (Yun et al. 2019): paste a box of area ``1 - lam`` (``lam ~ Beta(alpha, alpha)``) from
    a permutation of the batch; targets weighted by the pasted area after clipping."""

    def __init__(self, num_classes, alpha=0.2):
        _check("CutmixOperator", num_classes, alpha)
        self.num_classes, self.alpha = num_classes, alpha

    def __call__(self, imgs, labels):
        perm = np.random.permutation(len(imgs))
        lam = np.random.beta(self.alpha, self.alpha)
        h, w = imgs.shape[2:]
        cut = np.sqrt(1.0 - lam)
        ch, cw = int(h * cut), int(w * cut)
        cy, cx = np.random.randint(h), np.random.randint(w)
        y1, y2 = np.clip(cy - ch // 2, 0, h), np.clip(cy + ch // 2, 0, h)
        x1, x2 = np.clip(cx - cw // 2, 0, w), np.clip(cx + cw // 2, 0, w)
        imgs = imgs.copy()
        imgs[:, :, y1:y2, x1:x2] = imgs[perm, :, y1:y2, x1:x2]
        lam = 1.0 - (y2 - y1) * (x2 - x1) / float(h * w)
        return imgs, lam * one_hot(labels, self.num_classes) + (1 - lam) * one_hot(labels[perm], self.num_classes)


@BATCH_TRANSFORMS.register
class OpSampler:
    """One of the listed batch ops per batch, each with its ``prob``; the rest of the probability: no mixing."""

    def __init__(self, num_classes, **ops):
        self.num_classes, self.ops, self.probs = num_classes, [], []
        for name, kwargs in ops.items():
            kwargs = dict(kwargs or {})
            self.probs.append(float(kwargs.pop("prob", 0.0)))
            if name == "OpSampler":
                raise ConfigError("OpSampler: an OpSampler cannot contain another OpSampler")
            self.ops.append(BATCH_TRANSFORMS.build(name, num_classes=num_classes, **kwargs))
        if sum(self.probs) > 1.0 + 1e-6:
            raise ConfigError(f"OpSampler: the probabilities add up to {sum(self.probs)}, more than 1")

    def __call__(self, imgs, labels):
        pick = np.random.choice(len(self.ops) + 1, p=self.probs + [max(0.0, 1.0 - sum(self.probs))])
        if pick == len(self.ops):
            return imgs, one_hot(labels, self.num_classes)
        return self.ops[pick](imgs, labels)


def build_batch_transforms(entries, num_classes):
    """The batch ops of ``[{Name: {kwargs}}, ...]`` for ``num_classes`` classes (each gets its own)."""
    ops = []
    for entry in entries or ():
        (name, kwargs), = entry.items()
        ops.append(BATCH_TRANSFORMS.build(name, num_classes=num_classes, **(kwargs or {})))
    return ops


class BatchCollate:
    """A ``collate_fn``: ``(image [C, H, W], label [1])`` samples through the batch ops to ``(images [N, C, H, W],
    targets [N, num_classes])`` float32, soft targets even unmixed."""

    def __init__(self, ops, num_classes):
        self.ops, self.num_classes = ops, num_classes

    def __call__(self, samples):
        imgs = np.stack([np.asarray(s[0], dtype="float32") for s in samples])
        labels = np.array([int(np.asarray(s[1]).reshape(-1)[0]) for s in samples])
        targets = one_hot(labels, self.num_classes)
        for op in self.ops:
            imgs, targets = op(imgs, labels)
        return imgs, targets.astype("float32")
