"""Metrics by name for configs (``Metric: {Eval: [{TopkAcc: {topk: [1, 5]}}]}``)."""

import paddle

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
