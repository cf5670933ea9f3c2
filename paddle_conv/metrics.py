"""Metrics: by name for classification configs (``Metric: {Eval: [{TopkAcc: {topk: [1, 5]}}]}``),
and the VOC mAP of a detector on a data set (:func:`evaluate_map`)."""

import paddle

from .data import detection_loader
from .det import detect, voc_map
from .registry import Registry

METRICS = Registry("metric")
register_metric = METRICS.register


@register_metric
def TopkAcc(topk=(1, 5)):
    """Top-k accuracy (``paddle.metric.Accuracy``); logged as ``acc_top1``, ``acc_top5``, ..."""
    name = "acc" if len(topk) > 1 else f"acc_top{topk[0]}"  # Paddle appends _top{k} for several k
    return paddle.metric.Accuracy(topk=tuple(topk), name=name)


def build_metrics(entries):
    """The ``paddle.metric.Metric`` objects of ``[{Name: {kwargs}}, ...]``."""
    metrics = []
    for entry in entries or ():
        (name, kwargs), = entry.items()
        metrics.append(METRICS.build(name, **(kwargs or {})))
    return metrics


def evaluate_map(model, dataset, eval_cfg, batch_size=64):
    """VOC mAP of ``model`` on ``dataset``: ``{"mAP": all-point, "mAP_11": 11-point, "AP": per class}``.

    ``eval_cfg``: a validated detection ``Eval`` section (``score_thresh``, ``nms_thresh``,
    ``top_k``, ``iou_thresh``). The model is left in training mode.
    """
    model.eval()
    detections, truths = [], []
    with paddle.no_grad():
        for images, targets in detection_loader(dataset, batch_size, False):
            loc, conf, priors = model(images)
            detections += detect(
                loc,
                conf,
                priors,
                score_thresh=eval_cfg["score_thresh"],
                nms_thresh=eval_cfg["nms_thresh"],
                top_k=eval_cfg["top_k"],
            )
            truths += [t[t[:, 4] >= 0] for t in targets.numpy()]
    model.train()
    num_classes = model.num_classes - 1
    m_all, aps = voc_map(detections, truths, num_classes, eval_cfg["iou_thresh"])
    m_11, _ = voc_map(detections, truths, num_classes, eval_cfg["iou_thresh"], use_11_point=True)
    return {"mAP": m_all, "mAP_11": m_11, "AP": [float(a) for a in aps]}
