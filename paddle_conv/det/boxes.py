"""Box utilities for SSD: corner/centre forms, IoU and the variance encoding of offsets.

Corner form is ``(x1, y1, x2, y2)``, centre form ``(cx, cy, w, h)``, both relative to the image.
Every function works on any leading batch shape ``[..., 4]``.
"""

import paddle


def point_form(boxes):
    """``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)``; ``[..., 4]``."""
    return paddle.concat([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., :2] + boxes[..., 2:] / 2], axis=-1)


def center_size(boxes):
    """``(x1, y1, x2, y2)`` -> ``(cx, cy, w, h)``; ``[..., 4]``."""
    return paddle.concat([(boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]], axis=-1)


def box_iou(box_a, box_b):
    """Jaccard overlap of corner-form boxes: ``[..., A, 4]`` x ``[..., B, 4]`` -> ``[..., A, B]``.

    Leading dimensions broadcast, so ``[B, M, 4]`` ground truths against ``[P, 4]`` priors give
    ``[B, M, P]`` in one call. Works coordinate by coordinate so that no ``[..., A, B, 2]``
    temporaries are made.
    """
    ax1, ay1, ax2, ay2 = (c.unsqueeze(-1) for c in paddle.unbind(box_a, axis=-1))  # [..., A, 1]
    bx1, by1, bx2, by2 = (c.unsqueeze(-2) for c in paddle.unbind(box_b, axis=-1))  # [..., 1, B]
    iw = paddle.clip(paddle.minimum(ax2, bx2) - paddle.maximum(ax1, bx1), min=0)
    ih = paddle.clip(paddle.minimum(ay2, by2) - paddle.maximum(ay1, by1), min=0)
    inter = iw * ih
    return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter)


def encode(matched, priors, variances=(0.1, 0.2)):
    """Regression targets of corner-form ``matched`` boxes w.r.t. centre-form ``priors``.

    ``((g_c - p_c) / (v0 * p_wh), log(g_wh / p_wh) / v1)``; shapes ``[..., P, 4]`` and ``[P, 4]``.
    """
    g_c = ((matched[..., :2] + matched[..., 2:]) / 2 - priors[:, :2]) / (variances[0] * priors[:, 2:])
    g_wh = paddle.log((matched[..., 2:] - matched[..., :2]) / priors[:, 2:]) / variances[1]
    return paddle.concat([g_c, g_wh], axis=-1)


def decode(loc, priors, variances=(0.1, 0.2)):
    """Inverse of :func:`encode`: offsets ``[..., P, 4]`` -> corner-form boxes ``[..., P, 4]``."""
    centre = priors[:, :2] + loc[..., :2] * variances[0] * priors[:, 2:]
    wh = priors[:, 2:] * paddle.exp(loc[..., 2:] * variances[1])
    return paddle.concat([centre - wh / 2, centre + wh / 2], axis=-1)
