"""Old home of the metrics registry; it lives in :mod:`paddle_conv.metrics`."""

from ..metrics import METRICS, TopkAcc, build_metrics, register_metric  # noqa: F401
