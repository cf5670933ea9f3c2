"""VOC detection mean average precision (Everingham et al., IJCV 2010): 11-point (VOC2007) or all-point AP."""

import numpy as np

from .boxes import box_iou_numpy


def average_precision(recall, precision, use_11_point=False):
    """AP of one class from cumulative ``recall`` and ``precision`` arrays (same length)."""
    if use_11_point:
        points = [precision[recall >= t].max() if np.any(recall >= t) else 0.0 for t in np.linspace(0, 1, 11)]
        return float(np.mean(points))
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # precision envelope
    step = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[step + 1] - r[step]) * p[step + 1]))


def voc_map(detections, ground_truths, num_classes, iou_thresh=0.5, use_11_point=False, difficult=None):
    """``(mAP, per-class AP, NaN without ground truth)`` of per-image ``detections [k, 6]`` = ``(x1, y1, x2, y2,
    score, label)`` against ``ground_truths [n, 5]`` (``difficult``: per-image bool ``[n]``, neither counted)."""
    aps = np.full(num_classes, np.nan)
    for c in range(num_classes):
        gts, flags, dets = {}, {}, []
        for i, (det, gt) in enumerate(zip(detections, ground_truths)):
            gt = np.asarray(gt, dtype="float64").reshape(-1, 5)
            keep = gt[:, 4] == c
            gts[i] = gt[keep, :4]
            hard = np.zeros(len(gt), bool) if difficult is None else np.asarray(difficult[i], bool)
            flags[i] = hard[keep]
            det = np.asarray(det, dtype="float64").reshape(-1, 6)
            dets += [(d[4], i, d[:4]) for d in det[det[:, 5] == c]]
        n_pos = sum(int((~f).sum()) for f in flags.values())
        if n_pos == 0:
            continue
        dets.sort(key=lambda d: -d[0])
        used = {i: np.zeros(len(g), bool) for i, g in gts.items()}
        tp, fp = np.zeros(len(dets)), np.zeros(len(dets))
        for k, (_, i, box) in enumerate(dets):
            if len(gts[i]) == 0:
                fp[k] = 1
                continue
            overlaps = box_iou_numpy(box[None], gts[i])[0]
            j = int(np.argmax(overlaps))
            if overlaps[j] < iou_thresh or (used[i][j] and not flags[i][j]):
                fp[k] = 1
            elif not flags[i][j]:
                tp[k], used[i][j] = 1, True
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        recall = tp / n_pos
        precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
        aps[c] = average_precision(recall, precision, use_11_point)
    return float(np.nanmean(aps)) if np.any(~np.isnan(aps)) else 0.0, aps
