"""PaddleClas's metrics of PULC and attribute configs against hand-computed values."""

import numpy as np
import paddle

from paddle_conv.metrics import ATTR_NAMES, METRICS


def _run(metric, logits, labels):
    metric.reset()
    metric.update(*[np.asarray(t) for t in metric.compute(paddle.to_tensor(logits), paddle.to_tensor(labels))])
    return metric.accumulate()


def test_tpr_at_fpr_is_the_best_true_positive_rate_under_the_false_positive_limit():
    # scores of class 1: positives 0.9, 0.6, 0.3; negatives 0.7, 0.2 -> at fpr <= 0.5 (threshold in [0.2, 0.3)):
    # tpr 1; at fpr 0 (threshold >= 0.7): tpr 1/3
    probs = np.array([0.9, 0.6, 0.3, 0.7, 0.2])
    logits = np.stack([np.zeros(5), np.log(probs / (1 - probs))], axis=1).astype("float32")
    labels = np.array([[1], [1], [1], [0], [0]], dtype="int64")
    assert abs(_run(METRICS.build("TprAtFpr", max_fpr=0.5), logits, labels) - 1.0) < 1e-9
    assert abs(_run(METRICS.build("TprAtFpr", max_fpr=0.0), logits, labels) - 1 / 3) < 1e-9
    assert _run(METRICS.build("TprAtFpr"), logits[3:], labels[3:]) == 0.0  # no positives
    soft = np.array([[0.2, 0.8], [0.4, 0.6], [0.3, 0.7], [0.9, 0.1], [0.6, 0.4]], dtype="float32")  # Mixup's
    assert abs(_run(METRICS.build("TprAtFpr", max_fpr=0.5), logits, soft) - 1.0) < 1e-9


def test_attr_metric_label_mean_accuracy_and_instance_scores():
    truth = np.array([[1, 0, 1], [0, 0, 1], [1, 1, -1]], dtype="float32")
    predicted = np.array([[1, 0, 0], [1, 0, 1], [1, 1, 1]])  # the -1 label's prediction is ignored
    logits = np.where(predicted == 1, 3.0, -3.0).astype("float32")
    values = dict(zip(ATTR_NAMES, _run(METRICS.build("ATTRMetric"), logits, truth)))
    # per attribute (pos recall, neg recall): (1, 0), (1, 1), (1/2, -) -> mA = mean(0.5, 1, 0.5 (neg 0/0 -> 0))
    assert abs(values["mA"] - (0.5 + 1.0 + 0.25) / 3) < 1e-6
    # instances: intersect / union = 1/2, 1/2, 2/2
    assert abs(values["instance_acc"] - 2 / 3) < 1e-6
    ratio = np.stack([truth, np.full_like(truth, 0.5)], axis=1)  # [N, 2, C] from label_ratio: same result
    assert _run(METRICS.build("ATTRMetric"), logits, ratio) == list(values.values())


def test_accuracy_score_and_hamming_distance_of_multi_label_predictions():
    truth = np.array([[1, 0, 1], [0, 0, 1]], dtype="float32")
    logits = np.array([[3, -3, -3], [-3, -3, 3]], dtype="float32")  # one label wrong in the first image
    assert abs(_run(METRICS.build("AccuracyScore"), logits, truth) - 5 / 6) < 1e-9
    assert _run(METRICS.build("AccuracyScore", base="sample"), logits, truth) == 0.5
    assert abs(_run(METRICS.build("HammingDistance"), logits, truth) - 1 / 6) < 1e-9
