"""``Optimizer`` of a classification config: the optimizer, its ``lr`` schedule, ``regularizer``."""

from ..errors import config_error
from ..notes import note_once
from ..optim import LR_SCHEDULERS, OPTIMIZERS
from .paddleclas_only import refuse_paddleclas_only
from .schema import FLOAT, MAPPING, STR, Key, check_type, join_key, named_mapping, validate_section

#: ``Optimizer.regularizer``: weight decay by name and coefficient.
REGULARIZER = {
    "name": Key(STR, required=True, doc="L2 or L1"),
    "coeff": Key(FLOAT, required=True, doc="decay coefficient, e.g. 0.0001"),
}


def _regularizer(source, path, value):
    section = validate_section(source, path, value, REGULARIZER)
    if section["name"] not in ("L1", "L2"):
        raise config_error(source, join_key(path, "name"), "bad value",
                           f"regularizer must be 'L1' or 'L2', got {section['name']!r}")
    return section


def validate_optimizer(source, path, value):
    """``Optimizer``: a registered optimizer, its arguments, ``lr`` (an LR schedule) and a ``regularizer``."""
    refuse_paddleclas_only(source, join_key(path, "name"), value.get("name") if isinstance(value, dict) else None)
    check = named_mapping(OPTIMIZERS, exclude=("parameters", "learning_rate", "regularizer"),
                          extra={"lr": _lr, "regularizer": _regularizer})
    if isinstance(value, dict) and "lr" not in value:
        raise config_error(source, join_key(path, "lr"), "missing key",
                           "missing required key 'lr' (e.g. {name: Constant, learning_rate: 0.001})")
    if isinstance(value, dict):  # PaddleClas writes 'None' (a string) for "off" too
        value = {k: (None if v in ("None", "none") else v) for k, v in value.items()}
        if value.get("regularizer") is None:
            value.pop("regularizer", None)
    return check(source, path, value)


#: ``Optimizer.lr`` keys the trainer sets itself (PaddleClas's engine overrides them too).
LR_SET_BY_TRAINER = {"step_each_epoch": "the data set's batches per epoch", "epochs": "Global.epochs"}


def _lr(source, path, value):
    check_type(source, path, value, MAPPING)
    for key, what in LR_SET_BY_TRAINER.items():
        if key in value:
            note_once(join_key(path, key), f"set from {what}, not from this value")
    if "verbose" in value:
        note_once(join_key(path, "verbose"), "the learning rate is logged with the loss; no per-step print")
    return named_mapping(LR_SCHEDULERS, reserved=(*LR_SET_BY_TRAINER, "verbose"),
                         exclude=("step_each_epoch", "epochs"))(source, path, value)
