"""``Metric`` of a classification config: training and evaluation metrics."""

from ..errors import config_error
from ..metrics import METRICS
from ..models.distillation import LOGITS_KEY
from .arch_keys import FEATURE_DISTILLATION
from .loss_keys import refuse_not_implemented
from .schema import Key, named_list


def validate_metrics(source, path, value):
    """A list of ``{MetricName: {kwargs}}``."""
    refuse_not_implemented(source, path, value)
    out = named_list(METRICS)(source, path, value)
    for i, entry in enumerate(out):
        (name, kwargs), = entry.items()
        if kwargs.get("feature_key") not in (None, LOGITS_KEY):
            raise config_error(source, f"{path}[{i}].{name}.feature_key", "bad value",
                               f"{kwargs['feature_key']!r}: {FEATURE_DISTILLATION}")
    return out


#: ``Metric``: metrics of training and evaluation (top-1/top-5 accuracy when both are absent).
METRIC = {
    "Train": Key(validate_metrics, nullable=True),
    "Eval": Key(validate_metrics, nullable=True),
}
