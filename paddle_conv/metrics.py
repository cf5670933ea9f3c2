"""Metrics: by name for classification configs (``Metric: {Eval: [{TopkAcc: {topk: [1, 5]}}]}``),
and the VOC mAP of a detector on a data set (:func:`evaluate_map`)."""

import numpy as np
import paddle

from .data import detection_loader
from .det import detect, voc_map
from .models.distillation import LOGITS_KEY
from .registry import Registry

METRICS = Registry("metric")
register_metric = METRICS.register
#: Metrics that pick a DistillationModel's member themselves (``model_key``).
MEMBER_METRICS = ("DistillationTopkAcc",)


@register_metric
def TopkAcc(topk=(1, 5)):
    """Top-k accuracy (``paddle.metric.Accuracy``); logged as ``acc_top1``, ``acc_top5``, ..."""
    name = "acc" if len(topk) > 1 else f"acc_top{topk[0]}"  # Paddle appends _top{k} for several k
    return paddle.metric.Accuracy(topk=tuple(topk), name=name)


class WrappedMetric(paddle.metric.Metric):
    """``metric`` computed on ``select(*args)`` of the ``compute`` arguments ``args``."""

    def __init__(self, metric, select):
        super().__init__()
        self.metric, self.select = metric, select

    def name(self):
        return self.metric.name()

    def reset(self):
        self.metric.reset()

    def compute(self, *args):
        return self.metric.compute(*self.select(*args))

    def update(self, *args):
        return self.metric.update(*args)

    def accumulate(self):
        return self.metric.accumulate()


class MemberMetric(WrappedMetric):
    """``metric`` of one member of a DistillationModel's outputs ``{member: logits}``."""

    def __init__(self, metric, member):
        super().__init__(metric, lambda pred, *args: (pred[member] if isinstance(pred, dict) else pred, *args))
        self.member = member


@register_metric
def DistillationTopkAcc(model_key, feature_key=None, topk=(1, 5)):
    """Top-k accuracy of the DistillationModel member ``model_key`` (PaddleClas's metric), logged as
    :func:`TopkAcc` is. ``feature_key``: PaddleClas's key in a member's output dict; our members
    return their logits, which ``feature_key: logits`` (or null) names."""
    if feature_key not in (None, LOGITS_KEY):
        raise ValueError(f"feature_key {feature_key!r}: our models return only their logits (feature_key: logits)")
    return MemberMetric(TopkAcc(topk), model_key)


#: The thresholds TprAtFpr tries: 0, 0.0001, ..., 0.9999 (PaddleClas's).
_TPR_THRESHOLDS = np.arange(10000) / 10000.0


@register_metric
class TprAtFpr(paddle.metric.Metric):
    """PaddleClas's ``TprAtFpr`` of a 2-class model (PULC's "is there a person / car / ..."): the highest
    true-positive rate at a false-positive rate <= ``max_fpr``, over thresholds 0, 0.0001, ..., 0.9999
    on the softmax score of class 1; logged as ``TprAtFpr``. With no negatives: the rate at threshold 0."""

    def __init__(self, max_fpr=1 / 1000.0):
        super().__init__()
        self.max_fpr = max_fpr
        self.reset()

    def name(self):
        return "TprAtFpr"

    def reset(self):
        self.positive, self.negative = [], []

    def compute(self, pred, label):
        if label.ndim == pred.ndim and label.shape[-1] == pred.shape[-1] > 1:  # Mixup/CutMix's soft targets
            label = paddle.argmax(label, axis=-1)
        return paddle.nn.functional.softmax(pred, axis=-1)[:, 1], label

    def update(self, score, label):
        score, label = np.asarray(score).reshape(-1), np.asarray(label).reshape(-1)
        self.positive.append(score[label != 0])
        self.negative.append(score[label == 0])

    def accumulate(self):
        positive, negative = np.concatenate(self.positive or [[]]), np.concatenate(self.negative or [[]])
        if not len(positive):
            return 0.0
        tpr = (positive[None, :] > _TPR_THRESHOLDS[:, None]).mean(1)
        if not len(negative):
            return float(tpr.max())
        fpr = (negative[None, :] > _TPR_THRESHOLDS[:, None]).mean(1)
        return float(tpr[fpr <= self.max_fpr].max(initial=0.0))


class _MultiHot(paddle.metric.Metric):
    """The 0/1 predictions (sigmoid > ``bi_threshold``) and labels ``[N, C]`` (or ``[N, 2, C]`` with
    ``label_ratio``) of a multi-label model, over an evaluation."""

    def __init__(self, bi_threshold=0.5):
        super().__init__()
        self.bi_threshold = bi_threshold
        self.reset()

    def name(self):
        return type(self).__name__

    def reset(self):
        self.truth, self.predicted = [], []

    def compute(self, pred, label):
        return paddle.nn.functional.sigmoid(pred), label[:, 0, :] if label.ndim == 3 else label

    def update(self, probs, label):
        self.truth.append(np.asarray(label))
        self.predicted.append((np.asarray(probs) > self.bi_threshold).astype(np.asarray(label).dtype))


#: What :class:`ATTRMetric` logs, in PaddleClas's order (the first, label mA, chooses best_model).
ATTR_NAMES = ("mA", "label_f1", "label_pos_recall", "label_neg_recall", "instance_f1", "instance_acc",
              "instance_prec", "instance_recall")


@register_metric
class ATTRMetric(_MultiHot):
    """PaddleClas's attribute metrics of a multi-label model (sigmoid scores > ``threshold``): label
    mean accuracy ``mA`` (the mean over attributes of (positive recall + negative recall) / 2), label F1
    and recalls, instance accuracy, precision, recall and F1. Labels ``-1`` (unknown) count as neither."""

    def __init__(self, threshold=0.5):
        super().__init__(threshold)

    def name(self):
        return list(ATTR_NAMES)

    def update(self, probs, label):
        label = np.asarray(label)
        predicted = (np.asarray(probs) > self.bi_threshold).astype(int)
        predicted[label == -1] = -1
        self.truth.append(label)
        self.predicted.append(predicted)

    def accumulate(self):
        eps = 1e-20
        truth, pred = np.concatenate(self.truth), np.concatenate(self.predicted)
        tp, tn = ((truth == 1) & (pred == 1)).sum(0), ((truth == 0) & (pred == 0)).sum(0)
        fp = ((truth == 0) & (pred == 1)).sum(0)
        pos_recall, neg_recall = tp / ((truth == 1).sum(0) + eps), tn / ((truth == 0).sum(0) + eps)
        precision = tp / (tp + fp + eps)
        label_f1 = np.mean(2 * precision * pos_recall / (precision + pos_recall + eps))
        intersect = ((truth == 1) & (pred == 1)).sum(1)
        ins_acc = np.mean(intersect / (((truth == 1) | (pred == 1)).sum(1) + eps))
        ins_prec = np.mean(intersect / ((pred == 1).sum(1) + eps))
        ins_recall = np.mean(intersect / ((truth == 1).sum(1) + eps))
        ins_f1 = 2 * ins_prec * ins_recall / (ins_prec + ins_recall + eps)
        mean_acc = np.mean((pos_recall + neg_recall) / 2)
        return [float(v) for v in (mean_acc, label_f1, np.mean(pos_recall), np.mean(neg_recall), ins_f1, ins_acc,
                                   ins_prec, ins_recall)]


@register_metric
class AccuracyScore(_MultiHot):
    """PaddleClas's multi-label ``AccuracyScore``: ``base: label`` the share of right 0/1 labels over all
    labels, ``base: sample`` the share of images with every label right."""

    def __init__(self, base="label", bi_threshold=0.5):
        if base not in ("label", "sample"):
            raise ValueError(f"AccuracyScore.base: expected 'label' or 'sample', got {base!r}")
        self.base = base
        super().__init__(bi_threshold)

    def accumulate(self):
        right = np.concatenate(self.truth) == np.concatenate(self.predicted)
        return float(right.mean() if self.base == "label" else right.all(axis=1).mean())


@register_metric
class HammingDistance(_MultiHot):
    """PaddleClas's multi-label ``HammingDistance``: the share of wrong 0/1 labels (lower is better)."""

    def accumulate(self):
        return float((np.concatenate(self.truth) != np.concatenate(self.predicted)).mean())


def build_metrics(entries, member=None):
    """The metrics of ``[{Name: {kwargs}}, ...]``; those that pick no DistillationModel member
    themselves measure ``member`` (:class:`MemberMetric`)."""
    metrics = []
    for entry in entries or ():
        (name, kwargs), = entry.items()
        metric = METRICS.build(name, **(kwargs or {}))
        if member is not None and not isinstance(metric, MemberMetric):
            metric = MemberMetric(metric, member)
        metrics.append(metric)
    return metrics


def evaluate_map(model, dataset, eval_cfg, batch_size=64):
    """VOC mAP of ``model`` on ``dataset`` with a detection ``Eval`` section: ``{"mAP": all-point,
    "mAP_11": 11-point, "AP": per class}``. The model is left in training mode."""
    model.eval()
    detections, truths = [], []
    with paddle.no_grad():
        for images, targets in detection_loader(dataset, batch_size, False):
            loc, conf, priors = model(images)
            detections += detect(loc, conf, priors, score_thresh=eval_cfg["score_thresh"],
                                 nms_thresh=eval_cfg["nms_thresh"], top_k=eval_cfg["top_k"])
            truths += [t[t[:, 4] >= 0] for t in targets.numpy()]
    model.train()
    num_classes = model.num_classes - 1
    m_all, aps = voc_map(detections, truths, num_classes, eval_cfg["iou_thresh"])
    m_11, _ = voc_map(detections, truths, num_classes, eval_cfg["iou_thresh"], use_11_point=True)
    return {"mAP": m_all, "mAP_11": m_11, "AP": [float(a) for a in aps]}
