"""``Loss`` of a classification config: training and evaluation losses, distillation losses' keys."""

import inspect

from ..errors import abbreviate, config_error
from ..losses import LOSSES
from ..losses.distillation_losses import DML_ACTIVATIONS
from ..models.distillation import LOGITS_KEY
from ..notes import note_once
from .arch_keys import FEATURE_DISTILLATION
from .paddleclas_only import refuse_paddleclas_only
from .schema import FLOAT, LIST, Key, check_type, join_key, named_list

#: PaddleClas losses and metrics of a model with several outputs; ours have one.
MULTI_OUTPUT = {
    "GoogLeNetLoss": "weighs the three outputs of PaddleClas's GoogLeNet (its classifier and two auxiliary "
                     "classifiers: 1, 0.3, 0.3); our models have one output: use CELoss",
    "GoogLeNetTopkAcc": "scores the first of the three outputs of PaddleClas's GoogLeNet; our models have one "
                        "output: use TopkAcc",
}


def refuse_not_implemented(source, path, value):
    """ConfigError for an entry of :data:`MULTI_OUTPUT` or ``PADDLECLAS_ONLY`` in the list ``value``."""
    for i, entry in enumerate(value if isinstance(value, list) else ()):
        name = next(iter(entry), None) if isinstance(entry, dict) else entry
        if isinstance(name, str) and name in MULTI_OUTPUT:
            raise config_error(source, f"{path}[{i}]", "bad value", f"{name} {MULTI_OUTPUT[name]}")
        refuse_paddleclas_only(source, f"{path}[{i}]", name)


#: PaddleClas's losses of feature distillation (they compare inner layers' outputs), refused.
FEATURE_LOSSES = ("AFDLoss", "DistillationPairLoss", "DistillationDistanceLoss", "DistillationRKDLoss")


def validate_losses(source, path, value):
    """A list of ``{LossName: {kwargs}}`` (each may carry a ``weight``)."""
    check_type(source, path, value, LIST)
    refuse_not_implemented(source, path, value)
    for i, entry in enumerate(value):
        name = next(iter(entry)) if isinstance(entry, dict) and len(entry) == 1 else None
        if name in FEATURE_LOSSES:
            raise config_error(source, f"{path}[{i}]", "bad value", f"{name}: {FEATURE_DISTILLATION}")
    out = named_list(LOSSES, reserved=("weight",))(source, path, value)
    for i, entry in enumerate(out):
        (name, kwargs), = entry.items()
        if getattr(LOSSES.get(name), "reads_members", False):
            _distillation_loss_keys(source, f"{path}[{i}].{name}", name, kwargs)
    return out


def _member_names(source, path, value, pairs):
    """``model_name_pairs`` (``pairs``: a non-empty list of [model, model]) or ``model_names``."""
    def valid(entry):
        if pairs:
            return isinstance(entry, list) and len(entry) == 2 and all(isinstance(n, str) for n in entry)
        return isinstance(entry, str)

    if not (isinstance(value, list) and value and all(valid(entry) for entry in value)):
        example = "[[Student, Teacher]]" if pairs else "[Student]"
        raise config_error(source, path, "bad value", f"expected a non-empty list like {example}, got "
                           f"{abbreviate(value, 80)}")


def _distillation_loss_keys(source, where, name, kwargs):
    """The keys of a distillation loss that its signature's types do not check."""
    params = inspect.signature(LOSSES.get(name)).parameters
    for key, pairs in (("model_name_pairs", True), ("model_names", False)):
        if key in params:
            _member_names(source, join_key(where, key), kwargs.get(key), pairs)
    for key, param in params.items():  # temperature, alpha, beta, ...: one number each
        if FLOAT.check(param.default) and key in kwargs:
            check_type(source, join_key(where, key), kwargs[key], FLOAT)
    if kwargs.get("key") not in (None, LOGITS_KEY):
        raise config_error(source, join_key(where, "key"), "bad value", f"{kwargs['key']!r}: {FEATURE_DISTILLATION}")
    if name == "DistillationCELoss" and kwargs.get("epsilon") is not None:
        raise config_error(source, join_key(where, "epsilon"), "bad value",
                           "label smoothing of the soft labels is not implemented (PaddleClas smooths the raw "
                           "logits, which are no distribution); remove it")
    if name == "DistillationDMLLoss":
        if kwargs.get("weight_ratio"):
            raise config_error(source, join_key(where, "weight_ratio"), "bad value",
                               "multi-label DML (weighted by label ratios) is not implemented; remove it")
        if kwargs.get("act", "softmax") not in DML_ACTIVATIONS:
            raise config_error(source, join_key(where, "act"), "bad value",
                               f"expected softmax, sigmoid or null, got {abbreviate(kwargs['act'], 40)}")
    if "name" in kwargs:
        note_once(join_key(where, "name"), "names the loss in PaddleClas's log; the log here shows the total loss")


#: ``Loss``: the training losses and (optionally) other evaluation losses.
LOSS = {
    "Train": Key(validate_losses, required=True),
    "Eval": Key(validate_losses, nullable=True),
}
