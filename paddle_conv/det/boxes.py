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
    ``[B, M, P]`` in one call.
    """
    a = box_a.unsqueeze(-2)  # [..., A, 1, 4]
    b = box_b.unsqueeze(-3)  # [..., 1, B, 4]
    wh = paddle.clip(paddle.minimum(a[..., 2:], b[..., 2:]) - paddle.maximum(a[..., :2], b[..., :2]), min=0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


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
