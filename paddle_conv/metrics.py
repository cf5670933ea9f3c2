"""Metrics: by name for classification configs (``Metric: {Eval: [{TopkAcc: {topk: [1, 5]}}]}``),
and the VOC mAP of a detector on a data set (:func:`evaluate_map`)."""

import paddle

from .data import detection_loader
from .det import detect, voc_map
from .models.distillation import LOGITS_KEY
from .registry import Registry

METRICS = Registry("metric")
register_metric = METRICS.register
#: Metrics that pick a DistillationModel's member themselves (``model_key``).
MEMBER_METRICS = ("DistillationTopkAcc",)


def _accuracy_name(topk):
    """``acc`` (Paddle appends ``_top{k}`` for several k) or ``acc_top{k}``."""
    return "acc" if len(topk) > 1 else f"acc_top{topk[0]}"


@register_metric
def TopkAcc(topk=(1, 5)):
    """Top-k accuracy (``paddle.metric.Accuracy``); logged as ``acc_top1``, ``acc_top5``, ..."""
    return paddle.metric.Accuracy(topk=tuple(topk), name=_accuracy_name(topk))


class WrappedMetric(paddle.metric.Metric):
    """A ``paddle.metric.Metric`` that is ``metric`` with another ``compute`` (subclasses say which)."""

    def __init__(self, metric):
        super().__init__()
        self.metric = metric

    def name(self):
        return self.metric.name()

    def reset(self):
        self.metric.reset()

    def update(self, *args):
        return self.metric.update(*args)

    def accumulate(self):
        return self.metric.accumulate()


class MemberMetric(WrappedMetric):
    """``metric`` of one member of a DistillationModel's outputs ``{member: logits}``."""

    def __init__(self, metric, member):
        super().__init__(metric)
        self.member = member

    def compute(self, pred, *args):
        return self.metric.compute(pred[self.member] if isinstance(pred, dict) else pred, *args)


@register_metric
def DistillationTopkAcc(model_key, feature_key=None, topk=(1, 5)):
    """Top-k accuracy of the DistillationModel member ``model_key`` (PaddleClas's metric), logged as
    :func:`TopkAcc` is. ``feature_key``: PaddleClas's key in a member's output dict; our members
    return their logits, which ``feature_key: logits`` (or null) names."""
    if feature_key not in (None, LOGITS_KEY):
        raise ValueError(f"feature_key {feature_key!r}: our models return only their logits (feature_key: logits)")
    return MemberMetric(TopkAcc(topk), model_key)


def build_metrics(entries, member=None):
    """The ``paddle.metric.Metric`` objects of ``[{Name: {kwargs}}, ...]``.

    ``member``: the outputs are a DistillationModel's ``{member: logits}``; the metrics that do not
    pick a member themselves (``TopkAcc``, ...) measure this one (:class:`MemberMetric`).
    """
    metrics = []
    for entry in entries or ():
        (name, kwargs), = entry.items()
        metric = METRICS.build(name, **(kwargs or {}))
        if member is not None and not isinstance(metric, MemberMetric):
            metric = MemberMetric(metric, member)
        metrics.append(metric)
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
