"""SSD box utilities on ``[..., 4]``: corner ``(x1, y1, x2, y2)`` / centre ``(cx, cy, w, h)`` forms, IoU, encoding."""

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
    """IoU of corner-form boxes (NumPy, in place): ``[..., A, 4]`` x ``[..., B, 4]`` -> ``[..., A, B]``."""
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
    """:func:`box_iou_numpy` on Paddle tensors (on the host, no gradient: faster than Paddle's CPU kernels)."""
    return paddle.to_tensor(box_iou_numpy(box_a.numpy(), box_b.numpy()))


def encode(matched, priors, variances=(0.1, 0.2)):
    """``((g_c - p_c) / (v0 * p_wh), log(g_wh / p_wh) / v1)`` of corner-form ``matched [..., P, 4]`` and
    centre-form ``priors [P, 4]`` (both Paddle tensors or both NumPy arrays)."""
    xp = np if isinstance(matched, np.ndarray) else paddle
    g_c = ((matched[..., :2] + matched[..., 2:]) / 2 - priors[:, :2]) / (variances[0] * priors[:, 2:])
    g_wh = xp.log((matched[..., 2:] - matched[..., :2]) / priors[:, 2:]) / variances[1]
    return xp.concat([g_c, g_wh], axis=-1)


def decode(loc, priors, variances=(0.1, 0.2)):
    """Inverse of :func:`encode`: offsets ``[..., P, 4]`` -> corner-form boxes ``[..., P, 4]``."""
    centre = priors[:, :2] + loc[..., :2] * variances[0] * priors[:, 2:]
    wh = priors[:, 2:] * paddle.exp(loc[..., 2:] * variances[1])
    return paddle.concat([centre - wh / 2, centre + wh / 2], axis=-1)
