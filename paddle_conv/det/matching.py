"""Batched SSD target assignment (as amdegroot/ssd.pytorch) in NumPy: every prior takes the ground truth it overlaps
most, then every ground truth claims its best prior (a later one winning); priors below ``threshold``: background."""

import functools

import numpy as np
import paddle

from ..errors import DataError
from .boxes import encode, point_form

#: The box of padding entries: outside the image (IoU 0 with every prior), finite under :func:`encode`.
_PAD_BOX = (2.0, 2.0, 3.0, 3.0)


def pad_targets_numpy(targets):
    """``B`` targets ``[n_i, 5]`` = ``(x1, y1, x2, y2, label)`` (or ``[B, M, 5]`` padded with label ``< 0``) as
    NumPy ``(boxes [B, M, 4] float32, labels [B, M] int64, valid [B, M] bool)``, ``M >= 1``."""
    if isinstance(targets, (paddle.Tensor, np.ndarray)):
        padded = np.asarray(targets.numpy() if isinstance(targets, paddle.Tensor) else targets, dtype="float32")
        if padded.ndim != 3 or padded.shape[-1] != 5:
            raise DataError(f"padded targets must be [B, M, 5], got {list(padded.shape)}")
    else:
        padded = _pad_list(targets)
    valid = padded[..., 4] >= 0
    boxes = np.where(valid[..., None], padded[..., :4], np.asarray(_PAD_BOX, dtype="float32"))
    labels = np.where(valid, padded[..., 4], 0).astype("int64")
    return boxes, labels, valid


def pad_targets(targets):
    """:func:`pad_targets_numpy` as Paddle tensors ``(boxes, labels, valid)``."""
    return tuple(paddle.to_tensor(a) for a in pad_targets_numpy(targets))


def _pad_list(targets):
    arrays = [t.numpy() if isinstance(t, paddle.Tensor) else np.asarray(t, dtype="float32") for t in targets]
    if not arrays:
        raise DataError("targets is an empty list: give one [n_i, 5] array per image")
    for i, a in enumerate(arrays):
        if a.size and (a.ndim != 2 or a.shape[1] != 5):
            raise DataError(f"targets[{i}] must be [n, 5] = (x1, y1, x2, y2, label), got shape {a.shape}")
        if a.size and (a[:, 4] < 0).any():
            raise DataError(f"targets[{i}] has label {a[:, 4].min():g}: labels are 0-based class indices without "
                            "background; leave an image's list empty ([0, 5]) when it has no object")
    width = max(1, max(len(a) if a.size else 0 for a in arrays))
    out = np.full((len(arrays), width, 5), -1.0, dtype="float32")
    for i, a in enumerate(arrays):
        if a.size:
            out[i, : len(a)] = a
    return out


@functools.lru_cache(maxsize=8)
def _prior_intervals(data, dtype, count):
    """The distinct x and y intervals of centre-form priors (as bytes, to be cached; SSD300 has 333 of each)."""
    priors = point_form(np.frombuffer(data, dtype=dtype).reshape(count, 4))
    x_intervals, x_index = np.unique(priors[:, [0, 2]], axis=0, return_inverse=True)
    y_intervals, y_index = np.unique(priors[:, [1, 3]], axis=0, return_inverse=True)
    area = (priors[:, 2] - priors[:, 0]) * (priors[:, 3] - priors[:, 1])
    return x_intervals, x_index.ravel(), y_intervals, y_index.ravel(), area


def _iou_with_priors(boxes, priors):
    """:func:`box_iou_numpy` of corner-form ``boxes [T, 4]`` and centre-form ``priors [P, 4]`` -> ``[T, P]``."""
    x_intervals, x_index, y_intervals, y_index, area = _prior_intervals(priors.tobytes(), priors.dtype.str, len(priors))
    overlap_w = np.minimum(boxes[:, 2:3], x_intervals[:, 1]) - np.maximum(boxes[:, 0:1], x_intervals[:, 0])
    overlap_h = np.minimum(boxes[:, 3:4], y_intervals[:, 1]) - np.maximum(boxes[:, 1:2], y_intervals[:, 0])
    inter = np.take(np.maximum(overlap_w, 0), x_index, axis=1, mode="clip")  # in range: no checks
    inter *= np.take(np.maximum(overlap_h, 0), y_index, axis=1, mode="clip")
    union = np.add(((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[:, None], area)
    union -= inter
    inter /= union
    return inter


def match_numpy(truths, valid, priors, threshold=0.5):
    """The positive priors of corner-form ``truths [B, M, 4]`` (``valid [B, M]``) and centre-form ``priors [P, 4]``
    as int64 arrays ``(image, prior, truth)`` in row-major ``(image, prior)`` order; the others are background."""
    batch, num_truths = valid.shape
    img, slot = np.nonzero(valid)
    packed = _iou_with_priors(truths[img, slot], priors)  # [T, P]: the valid truths
    iou = np.zeros((batch, num_truths, packed.shape[1]), dtype=packed.dtype)
    iou[img, slot] = packed
    best_overlap = iou.max(axis=1)  # [B, P]: each prior's best overlap
    # Each valid truth claims its best prior (overlap 2, as upstream); a later truth wins a shared one.
    claimed = img * best_overlap.shape[1] + packed.argmax(axis=1)  # flat (image, prior) rows
    best_overlap.reshape(-1)[claimed] = 2.0
    pos_img, pos_prior = np.nonzero(best_overlap >= threshold)
    pos_truth = iou[pos_img, :, pos_prior].argmax(axis=1)
    order = np.lexsort((slot, claimed))  # by row, then truth index: the last of each row wins
    last = np.ones(len(order), dtype=bool)
    last[:-1] = claimed[order][1:] != claimed[order][:-1]
    winners = order[last]
    pos_rows = pos_img * best_overlap.shape[1] + pos_prior  # row-major, so sorted
    pos_truth[np.searchsorted(pos_rows, claimed[winners])] = slot[winners]
    return pos_img, pos_prior, pos_truth


def match(truths, labels, valid, priors, threshold=0.5, variances=(0.1, 0.2)):
    """:func:`match_numpy` on Paddle tensors (``labels [B, M]`` 0-based): ``loc_t [B, P, 4]`` encoded offsets
    (meaningful at positives) and ``conf_t [B, P]`` int64 classes (0 = background, ``label + 1`` otherwise)."""
    truths_np, labels_np, priors_np = truths.numpy(), labels.numpy(), priors.numpy()
    img, prior, truth = match_numpy(truths_np, valid.numpy(), priors_np, threshold)
    conf_t = np.zeros((truths_np.shape[0], priors_np.shape[0]), dtype="int64")
    conf_t[img, prior] = labels_np[img, truth] + 1
    best_truth = np.zeros_like(conf_t)
    best_truth[img, prior] = truth
    matched = np.take_along_axis(truths_np, best_truth[..., None], axis=1)
    return paddle.to_tensor(encode(matched, priors_np, variances)), paddle.to_tensor(conf_t)
