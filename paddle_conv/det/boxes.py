"""Box utilities for SSD: corner/centre forms, IoU and the variance encoding of offsets.

Corner form is ``(x1, y1, x2, y2)``, centre form ``(cx, cy, w, h)``, both relative to the image.
Every function works on any leading batch shape ``[..., 4]``.
"""

import numpy as np
import paddle


def point_form(boxes):
    """``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)``; ``[..., 4]`` Paddle tensor or NumPy array."""
    xp = np if isinstance(boxes, np.ndarray) else paddle
    return xp.concat([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., :2] + boxes[..., 2:] / 2], axis=-1)


def center_size(boxes):
    """``(x1, y1, x2, y2)`` -> ``(cx, cy, w, h)``; ``[..., 4]``."""
    return paddle.concat([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], axis=-1)


def box_iou_numpy(box_a, box_b):
    """Jaccard overlap of corner-form boxes (numpy): ``[..., A, 4]`` x ``[..., B, 4]`` -> ``[..., A, B]``.

    Leading dimensions broadcast, so ``[B, M, 4]`` ground truths against ``[P, 4]`` priors give
    ``[B, M, P]`` in one call; the result has the inputs' dtype. The coordinates are read as
    contiguous rows and the work is done in place on two ``[..., A, B]`` buffers (about twice
    as fast as the plain broadcast expressions at ``A = 170``, ``B = 8732``).
    """
    ax1, ay1, ax2, ay2 = (c[..., :, None] for c in np.moveaxis(box_a, -1, 0))
    bx1, by1, bx2, by2 = (c[..., None, :] for c in np.ascontiguousarray(np.moveaxis(box_b, -1, 0)))
    inter = np.minimum(ax2, bx2)
    inter -= np.maximum(ax1, bx1)
    np.maximum(inter, 0, out=inter)
    ih = np.minimum(ay2, by2)
    ih -= np.maximum(ay1, by1)
    np.maximum(ih, 0, out=ih)
    inter *= ih
    union = np.add((ax2 - ax1) * (ay2 - ay1), (bx2 - bx1) * (by2 - by1), out=ih)
    union -= inter
    inter /= union
    return inter


def box_iou(box_a, box_b):
    """:func:`box_iou_numpy` on Paddle tensors (no gradient flows through it).

    Computed on the host, as matching is (:func:`paddle_conv.det.match_numpy`): Paddle's CPU
    kernels for the broadcast ``[B, M, 1] x [1, 1, P]`` element-wise ops were about 9x slower than
    NumPy's here (267 vs 30 ms at B=32, M=10, P=8732), and the copy to and from a GPU is a few MB.
    """
    return paddle.to_tensor(box_iou_numpy(box_a.numpy(), box_b.numpy()))


def encode(matched, priors, variances=(0.1, 0.2)):
    """Regression targets of corner-form ``matched`` boxes w.r.t. centre-form ``priors``.

    ``((g_c - p_c) / (v0 * p_wh), log(g_wh / p_wh) / v1)``; shapes ``[..., P, 4]`` and ``[P, 4]``,
    both Paddle tensors or both NumPy arrays (the result is of the same kind).
    """
    xp = np if isinstance(matched, np.ndarray) else paddle
    g_c = ((matched[..., :2] + matched[..., 2:]) / 2 - priors[:, :2]) / (variances[0] * priors[:, 2:])
    g_wh = xp.log((matched[..., 2:] - matched[..., :2]) / priors[:, 2:]) / variances[1]
    return xp.concat([g_c, g_wh], axis=-1)


def decode(loc, priors, variances=(0.1, 0.2)):
    """Inverse of :func:`encode`: offsets ``[..., P, 4]`` -> corner-form boxes ``[..., P, 4]``."""
    centre = priors[:, :2] + loc[..., :2] * variances[0] * priors[:, 2:]
    wh = priors[:, 2:] * paddle.exp(loc[..., 2:] * variances[1])
    return paddle.concat([centre - wh / 2, centre + wh / 2], axis=-1)
