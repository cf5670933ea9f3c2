"""Batched SSD target assignment: padded ground truths, IoU against every prior, one pass.

Matching follows SSD (Liu et al. 2016) as amdegroot/ssd.pytorch does it: every prior takes the
ground truth it overlaps most; then every ground truth claims its own best prior (so each object
has at least one positive, a later object winning a prior two objects share); priors whose
overlap stays below ``threshold`` become background (class 0). Here the whole batch is one
``[B, M, P]`` IoU tensor, ground truths padded to ``M`` per image with a validity mask, so an
image without objects is just a row of invalid entries.
"""

import numpy as np
import paddle

from ..errors import DataError
from .boxes import box_iou, encode, point_form

#: Corner box given to padding entries: outside the image, so its IoU with every prior is 0 and
#: it is finite under :func:`encode`; padding never claims a prior.
_PAD_BOX = (2.0, 2.0, 3.0, 3.0)


def pad_targets(targets):
    """Pad per-image targets to one tensor.

    Args:
        targets: a list of ``B`` arrays/tensors ``[n_i, 5]`` = ``(x1, y1, x2, y2, label)`` (``n_i`` may
            be 0), or an already padded ``[B, M, 5]`` tensor whose padding rows have label ``< 0``.

    Returns:
        ``(boxes [B, M, 4] float32, labels [B, M] int64, valid [B, M] bool)`` with ``M >= 1``;
        padding rows hold the box ``(2, 2, 3, 3)`` (outside the image) and label 0.
    """
    if isinstance(targets, paddle.Tensor):
        if targets.ndim != 3 or targets.shape[-1] != 5:
            raise DataError(f"padded targets must be [B, M, 5], got {list(targets.shape)}")
        padded = targets.astype("float32")
    else:
        padded = paddle.to_tensor(_pad_numpy(targets))
    valid = padded[..., 4] >= 0
    pad_box = paddle.to_tensor(_PAD_BOX, dtype="float32")
    boxes = paddle.where(valid.unsqueeze(-1), padded[..., :4], pad_box)
    labels = paddle.where(valid, padded[..., 4], paddle.zeros_like(padded[..., 4])).astype("int64")
    return boxes, labels, valid


def _pad_numpy(targets):
    arrays = [t.numpy() if isinstance(t, paddle.Tensor) else np.asarray(t, dtype="float32") for t in targets]
    if not arrays:
        raise DataError("targets is an empty list: give one [n_i, 5] array per image")
    for i, a in enumerate(arrays):
        if a.size and (a.ndim != 2 or a.shape[1] != 5):
            raise DataError(f"targets[{i}] must be [n, 5] = (x1, y1, x2, y2, label), got shape {a.shape}")
    width = max(1, max(len(a) if a.size else 0 for a in arrays))
    out = np.full((len(arrays), width, 5), -1.0, dtype="float32")
    for i, a in enumerate(arrays):
        if a.size:
            out[i, : len(a)] = a
    return out


def match(truths, labels, valid, priors, threshold=0.5, variances=(0.1, 0.2)):
    """Assign a ground truth to every prior for the whole batch at once.

    Args:
        truths: ``[B, M, 4]`` corner-form ground truths (relative coordinates).
        labels: ``[B, M]`` int64 class labels, 0-based without background.
        valid: ``[B, M]`` bool, False for padding.
        priors: ``[P, 4]`` centre-form priors.
        threshold: IoU below which a prior is background.
        variances: the encoding variances ``(v0, v1)``.

    Returns:
        ``loc_t [B, P, 4]`` encoded offsets and ``conf_t [B, P]`` int64 classes (0 = background,
        ``label + 1`` otherwise).
    """
    num_truths = truths.shape[1]
    iou = box_iou(truths, point_form(priors))  # [B, M, P]; 0 for padding (it lies outside the image)
    best_prior = paddle.argmax(iou, axis=2)  # [B, M]: each truth's best prior
    best_overlap = paddle.max(iou, axis=1)  # [B, P]: each prior's best truth
    best_truth = paddle.argmax(iou, axis=1)
    # Each valid truth claims its best prior; the highest truth index wins a shared prior.
    truth_ids = paddle.where(valid, paddle.arange(num_truths).unsqueeze(0), paddle.full_like(labels, -1))
    claimant = paddle.put_along_axis(paddle.full_like(best_truth, -1), best_prior, truth_ids, axis=1, reduce="amax")
    claimed = claimant >= 0
    best_truth = paddle.where(claimed, claimant, best_truth)
    best_overlap = paddle.where(claimed, paddle.full_like(best_overlap, 2.0), best_overlap)

    matched = paddle.take_along_axis(truths, best_truth.unsqueeze(-1).expand([-1, -1, 4]), axis=1)
    conf_t = paddle.take_along_axis(labels, best_truth, axis=1) + 1
    conf_t = paddle.where(best_overlap < threshold, paddle.zeros_like(conf_t), conf_t)
    return encode(matched, priors, variances), conf_t
