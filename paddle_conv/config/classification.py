"""The schema of a classification config, in PaddleClas's layout (``configs/oct_mobilenet.yaml``).

One block per section, each in one place: ``Global`` (:data:`GLOBAL`), ``Arch``, ``Loss``
(:data:`LOSS`), ``Optimizer``, ``DataLoader`` (:data:`DATALOADER`) and ``Metric``
(:data:`METRIC`); :data:`SCHEMA` puts them together. To add a key, add a
:class:`~paddle_conv.config.schema.Key` to its section's dict; names inside a section (a model,
loss, optimizer, LR schedule, data set, transform, metric) come from their registries, and
their arguments are checked against the registered builder's signature.

Example::

    cfg = load_config("configs/oct_mobilenet.yaml", ["Global.epochs=3", "Arch.alpha=0.25"])
    cfg["Global"]["epochs"]   # 3
"""

from ..data import DATASETS, TRANSFORMS
from ..layers.refconv import BASIS_MODES, TRANSFORM_INITS
from ..losses import LOSSES
from ..metrics import METRICS
from ..optim import LR_SCHEDULERS, OPTIMIZERS
from ..registry import MODELS
from .schema import (
    BOOL,
    FLOAT,
    INT,
    INT_LIST,
    MAPPING,
    STR,
    Key,
    Type,
    check_type,
    config_error,
    join_key,
    named_list,
    named_mapping,
    validate_section,
)

# ---------------------------------------------------------------------------------- Global
#: ``Global``: the run (epochs, device, output and logging, weights to start from).
GLOBAL = {
    "output_dir": Key(STR, default="./output/", doc="checkpoints and VisualDL logs go under it"),
    "epochs": Key(INT, required=True, doc="number of training epochs"),
    "seed": Key(INT, default=42),
    "device": Key(STR, default="cpu", doc="cpu or gpu"),
    "save_interval": Key(INT, default=1, doc="write epoch_N every this many epochs"),
    "eval_during_train": Key(BOOL, default=True),
    "eval_interval": Key(INT, default=1),
    "print_batch_step": Key(INT, default=10),
    "use_visualdl": Key(BOOL, default=True),
    "pretrained_model": Key(STR, nullable=True, doc="weights to start from (no optimizer state)"),
    "checkpoints": Key(STR, nullable=True, doc="checkpoint prefix to resume from"),
    "image_shape": Key(INT_LIST, default=[3, 224, 224]),
    "save_inference_dir": Key(STR, default="./inference/",
                              doc="tools/export.py writes the inference model (and ONNX) here"),
    "use_amp": Key(BOOL, default=False, doc="mixed precision (float16 autocast) on GPU; ignored on CPU"),
}


def validate_global(source, path, value):
    """``Global`` against :data:`GLOBAL`, then the checks across its values (counts >= 1, ``[C, H, W]``)."""
    g = validate_section(source, path, value, GLOBAL)
    for key in ("epochs", "save_interval", "eval_interval", "print_batch_step"):
        if g[key] < 1:
            raise config_error(source, join_key(path, key), "bad value", f"must be >= 1, got {g[key]}")
    if len(g["image_shape"]) != 3:
        raise config_error(source, join_key(path, "image_shape"), "bad value",
                           f"expected [C, H, W], got {g['image_shape']!r}")
    if g["device"] not in ("cpu", "gpu"):
        raise config_error(source, join_key(path, "device"), "bad value",
                           f"expected 'cpu' or 'gpu', got {g['device']!r}")
    return g


# ------------------------------------------------------------------------------------ Arch
#: ``Arch.refocus``: ``true`` or these keys (:func:`paddle_conv.refconv.refocus`).
REFOCUS = {
    "min_kernel": Key(INT, default=3, doc="smallest kernel refocused (1x1 convs stay plain)"),
    "map_k": Key(INT, default=3, doc="kernel size of the refocusing transform"),
    "only_transforms": Key(BOOL, default=True, doc="freeze every parameter but the transforms"),
    "init": Key(Type(f"one of {', '.join(TRANSFORM_INITS)}", lambda v: v in TRANSFORM_INITS), default="zero",
                doc="transforms start at zero (exact start) or Xavier (the seed's recipe)"),
    "basis": Key(Type(f"one of {', '.join(BASIS_MODES)}", lambda v: v in BASIS_MODES), default="frozen",
                 doc="the trained kernels frozen (the seed), or an ablation"),
}


def _refocus(source, path, value):
    if value is None or value is False:
        return None
    return validate_section(source, path, {} if value is True else value, REFOCUS)


def validate_arch(source, path, value):
    """``Arch``: ``name`` (a registered model) plus its builder arguments; PaddleClas's
    ``class_num`` is read as ``num_classes``."""
    check_type(source, path, value, MAPPING)
    value = dict(value)
    if "class_num" in value:  # PaddleClas's spelling
        num = value.pop("class_num")
        if "num_classes" in value and value["num_classes"] != num:
            raise config_error(source, join_key(path, "class_num"), "bad value",
                               f"class_num={num!r} conflicts with num_classes={value['num_classes']!r}; keep one")
        value["num_classes"] = num
    return named_mapping(MODELS, extra={"refocus": _refocus})(source, path, value)


# ------------------------------------------------------------------------------------ Loss
def validate_losses(source, path, value):
    """A list of ``{LossName: {kwargs}}`` (each may carry a ``weight``)."""
    return named_list(LOSSES, reserved=("weight",))(source, path, value)


#: ``Loss``: the training losses and (optionally) other evaluation losses.
LOSS = {
    "Train": Key(validate_losses, required=True),
    "Eval": Key(validate_losses, nullable=True),
}


# ------------------------------------------------------------------------------- Optimizer
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
    """``Optimizer``: ``name`` (a registered optimizer), its arguments, ``lr`` (an LR schedule)
    and an optional ``regularizer``."""
    lr = named_mapping(LR_SCHEDULERS, exclude=("step_each_epoch", "epochs"))
    check = named_mapping(OPTIMIZERS, exclude=("parameters", "learning_rate", "weight_decay"),
                          extra={"lr": lr, "regularizer": _regularizer})
    if isinstance(value, dict) and "lr" not in value:
        raise config_error(source, join_key(path, "lr"), "missing key",
                           "missing required key 'lr' (e.g. {name: Constant, learning_rate: 0.001})")
    if isinstance(value, dict) and value.get("regularizer") is None:
        value = {k: v for k, v in value.items() if k != "regularizer"}
    return check(source, path, value)


# ------------------------------------------------------------------------------ DataLoader
def validate_dataset(source, path, value, allow_fallback=True):
    """``dataset``: ``name`` (a registered data set), its arguments, ``transform_ops`` and an
    optional ``fallback`` data set (which may set its own ``batch_size`` / ``num_workers``)."""
    extra = {"transform_ops": named_list(TRANSFORMS, required=False)}
    reserved = ("batch_size", "num_workers") if not allow_fallback else ()
    if allow_fallback:
        extra["fallback"] = lambda s, p, v: None if v is None else validate_dataset(s, p, v, allow_fallback=False)
    out = named_mapping(DATASETS, reserved=reserved, exclude=("transform", "class_num"), extra=extra)(
        source, path, value)
    for key in ("batch_size", "num_workers") if not allow_fallback else ():
        if key in out:
            check_type(source, join_key(path, key), out[key], INT)
    return out


SAMPLER = {
    "name": Key(STR, default="DistributedBatchSampler"),
    "batch_size": Key(INT, required=True, doc="samples per step and per process"),
    "shuffle": Key(BOOL, default=False),
    "drop_last": Key(BOOL, default=False),
}
LOADER = {
    "num_workers": Key(INT, default=0),
    "use_shared_memory": Key(BOOL, default=False),
}
#: One split of ``DataLoader`` (``Train`` or ``Eval``).
SPLIT = {
    "dataset": Key(validate_dataset, required=True, doc="name: Cifar10 | ImageNetDataset | ImageFolder | Digits"),
    "sampler": Key(SAMPLER, required=True),
    "loader": Key(LOADER),
}


def validate_split(source, path, value):
    """A split against :data:`SPLIT`; the sampler must be ``DistributedBatchSampler``."""
    split = validate_section(source, path, value, SPLIT)
    if split["sampler"]["name"] != "DistributedBatchSampler":
        raise config_error(source, join_key(path, "sampler.name"), "bad value",
                           f"only DistributedBatchSampler is supported, got {split['sampler']['name']!r}")
    return split


def validate_fraction(source, path, value):
    """A number strictly between 0 and 1."""
    check_type(source, path, value, FLOAT)
    if not 0 < value < 1:
        raise config_error(source, path, "bad value", f"must be between 0 and 1 (e.g. 0.1), got {value!r}")
    return float(value)


#: ``DataLoader``: the training split, an optional evaluation split, and an optional fraction of
#: the training set held out to choose ``best_model`` on (:mod:`paddle_conv.data.holdout`).
DATALOADER = {
    "Train": Key(validate_split, required=True),
    "Eval": Key(validate_split),
    "validation_split": Key(validate_fraction, nullable=True,
                            doc="fraction of Train held out for validation, e.g. 0.1"),
}


# ---------------------------------------------------------------------------------- Metric
def validate_metrics(source, path, value):
    """A list of ``{MetricName: {kwargs}}``."""
    return named_list(METRICS)(source, path, value)


#: ``Metric``: metrics of training and evaluation (top-1/top-5 accuracy when both are absent).
METRIC = {
    "Train": Key(validate_metrics, nullable=True),
    "Eval": Key(validate_metrics, nullable=True),
}

#: The schema of a classification config (PaddleClas's layout).
SCHEMA = {
    "Global": Key(validate_global, required=True),
    "Arch": Key(validate_arch, required=True, doc="name: a registered model, plus its builder arguments"),
    "Loss": Key(LOSS, required=True),
    "Optimizer": Key(validate_optimizer, required=True, doc="name: Momentum | Adam | AdamW, lr: {...}"),
    "DataLoader": Key(DATALOADER, required=True),
    "Metric": Key(METRIC),
}
