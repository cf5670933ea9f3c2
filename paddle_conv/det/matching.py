"""Batched SSD target assignment: padded ground truths, IoU against every prior, one pass.

Matching follows SSD (Liu et al. 2016) as amdegroot/ssd.pytorch does it: every prior takes the
ground truth it overlaps most; then every ground truth claims its own best prior (so each object
has at least one positive, a later object winning a prior two objects share); priors whose
overlap stays below ``threshold`` become background (class 0). Here the whole batch is one
``[B, M, P]`` IoU array, ground truths padded to ``M`` per image with a validity mask, so an
image without objects is just a row of invalid entries.

Matching has no gradient, so it runs in NumPy on the host (:func:`match_numpy`): Paddle's CPU
kernels for these broadcast element-wise ops and small-axis reductions were several times slower,
and on a GPU the copies are a few MB. :func:`match` is the Paddle-tensor form.
"""

import numpy as np
import paddle

from ..errors import DataError
from .boxes import box_iou_numpy, encode, point_form

#: Corner box given to padding entries: outside the image, so its IoU with every prior is 0 and
#: it is finite under :func:`encode`; padding never claims a prior.
_PAD_BOX = (2.0, 2.0, 3.0, 3.0)


def pad_targets_numpy(targets):
    """Pad per-image targets to one array.

    Args:
        targets: a list of ``B`` arrays/tensors ``[n_i, 5]`` = ``(x1, y1, x2, y2, label)`` (``n_i`` may
            be 0), or an already padded ``[B, M, 5]`` array/tensor whose padding rows have label ``< 0``.

    Returns:
        NumPy ``(boxes [B, M, 4] float32, labels [B, M] int64, valid [B, M] bool)`` with ``M >= 1``;
        padding rows hold the box ``(2, 2, 3, 3)`` (outside the image) and label 0.
    """
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
    width = max(1, max(len(a) if a.size else 0 for a in arrays))
    out = np.full((len(arrays), width, 5), -1.0, dtype="float32")
    for i, a in enumerate(arrays):
        if a.size:
            out[i, : len(a)] = a
    return out


def match_numpy(truths, labels, valid, priors_corner, threshold=0.5):
    """Assign a ground truth to every prior of the whole batch at once (NumPy, no gradient).

    Args:
        truths: ``[B, M, 4]`` corner-form ground truths (relative coordinates).
        labels: ``[B, M]`` int64 class labels, 0-based without background.
        valid: ``[B, M]`` bool, False for padding (padding rows are never read).
        priors_corner: ``[P, 4]`` priors in corner form.
        threshold: IoU below which a prior is background.

    Returns:
        ``conf_t [B, P]`` int64 classes (0 = background, ``label + 1`` otherwise) and
        ``best_truth [B, P]`` int64, the index into ``M`` of each positive prior's ground truth
        (0 at background priors, whose box is never used).

    The IoU is computed only for the valid ground truths and then laid out as ``[B, M, P]``
    (padding rows 0) for the per-image reductions.
    """
    batch, num_truths = labels.shape
    img, slot = np.nonzero(valid)
    iou = np.zeros((batch, num_truths, priors_corner.shape[0]), dtype=truths.dtype)
    iou[img, slot] = packed = box_iou_numpy(truths[img, slot], priors_corner)  # [T, P]: the valid truths
    best_overlap = iou.max(axis=1)  # [B, P]: each prior's best overlap
    # Each valid truth claims its best prior; the highest truth index wins a shared prior.
    claimant = np.full(best_overlap.shape, -1, dtype="int64")
    np.maximum.at(claimant, (img, packed.argmax(axis=1)), slot)
    claimed = claimant >= 0
    pos_img, pos_prior = np.nonzero(claimed | (best_overlap >= threshold))
    best_truth = np.zeros(best_overlap.shape, dtype="int64")
    # the argmax over truths only where it matters: at positives that no truth claimed
    best_truth[pos_img, pos_prior] = np.where(
        claimed[pos_img, pos_prior], claimant[pos_img, pos_prior], iou[pos_img, :, pos_prior].argmax(axis=1)
    )
    conf_t = np.zeros(best_overlap.shape, dtype="int64")
    conf_t[pos_img, pos_prior] = labels[pos_img, best_truth[pos_img, pos_prior]] + 1
    return conf_t, best_truth


def match(truths, labels, valid, priors, threshold=0.5, variances=(0.1, 0.2)):
    """:func:`match_numpy` on Paddle tensors, with the encoded regression targets.

    Args:
        truths, labels, valid: as :func:`match_numpy` (Paddle tensors, e.g. from :func:`pad_targets`).
        priors: ``[P, 4]`` centre-form priors.
        threshold: IoU below which a prior is background.
        variances: the encoding variances ``(v0, v1)``.

    Returns:
        ``loc_t [B, P, 4]`` encoded offsets (meaningful at positives; background priors are encoded
        against their image's first box) and ``conf_t [B, P]`` int64 classes.
    """
    truths_np, priors_np = truths.numpy(), priors.numpy()
    conf_t, best_truth = match_numpy(truths_np, labels.numpy(), valid.numpy(), point_form(priors_np), threshold)
    matched = np.take_along_axis(truths_np, best_truth[..., None], axis=1)
    return paddle.to_tensor(encode(matched, priors_np, variances)), paddle.to_tensor(conf_t)
