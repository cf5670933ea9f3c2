"""``DataLoader`` of a classification config: data sets, transforms, samplers, loaders."""

from ..data import DATASETS, SAMPLERS, TRANSFORMS
from ..data.batch_ops import BATCH_TRANSFORMS
from ..data.custom_label import label_key_problem
from ..data.multi_scale import SIZED_OPS, multi_scale_problem
from ..errors import config_error
from ..notes import note_once
from .paddleclas_only import refuse_paddleclas_only
from .schema import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    MAPPING,
    STR,
    Key,
    check_type,
    join_key,
    named_list,
    named_mapping,
    resolve_name,
    validate_kwargs,
    validate_section,
)


def validate_dataset(source, path, value, allow_fallback=True):
    """``dataset``: a registered data set, its arguments, ``transform_ops`` and an optional ``fallback`` data set."""
    refuse_paddleclas_only(source, join_key(path, "name"), value.get("name") if isinstance(value, dict) else None)
    extra = {"transform_ops": named_list(TRANSFORMS, required=False), "batch_transform_ops": _batch_ops}
    reserved = ("batch_size", "num_workers") if not allow_fallback else ()
    if allow_fallback:
        extra["fallback"] = lambda s, p, v: None if v is None else validate_dataset(s, p, v, allow_fallback=False)
    out = named_mapping(DATASETS, reserved=reserved, exclude=("transform", "num_classes"), extra=extra)(
        source, path, value)
    for key in ("batch_size", "num_workers") if not allow_fallback else ():
        if key in out:
            check_type(source, join_key(path, key), out[key], INT)
    return out


def _batch_ops(source, path, value):
    """``batch_transform_ops``: Mixup/Cutmix entries, or an OpSampler of them with ``prob`` each."""
    out = named_list(BATCH_TRANSFORMS, required=False, exclude=("num_classes",))(source, path, value)
    for i, entry in enumerate(out):
        (name, kwargs), = entry.items()
        if name != "OpSampler":
            continue
        for op, op_kwargs in kwargs.items():
            where = f"{path}[{i}].OpSampler.{op}"
            if op == "OpSampler":
                raise config_error(source, where, "bad value", "an OpSampler cannot contain another OpSampler")
            builder = resolve_name(source, where, BATCH_TRANSFORMS, op)
            validate_kwargs(source, where, op_kwargs or {}, builder, reserved=("prob",), exclude=("num_classes",))
    return out


SAMPLER = {
    "name": Key(STR, default="DistributedBatchSampler"),
    "batch_size": Key(INT, required=True, doc="samples per step and per process"),
    "shuffle": Key(BOOL, default=False),
    "drop_last": Key(BOOL, default=False),
}
#: The keys of each batch sampler (:mod:`paddle_conv.data.samplers`), by ``name``.
SAMPLER_KEYS = {
    "DistributedBatchSampler": SAMPLER,
    "BatchSampler": SAMPLER,
    "RASampler": {**SAMPLER, "num_repeats": Key(INT, default=3, doc="copies of each sample in an epoch")},
    "MultiScaleSampler": {
        "name": Key(STR, required=True),
        "scales": Key(ANY, required=True, doc="image sizes, e.g. [160, 192, 224, 288, 320], or [w, h] pairs"),
        "first_bs": Key(INT, required=True, doc="batch size at the first scale"),
        "divided_factor": Key(INT, default=32, doc="sizes are rounded down to its multiples"),
        "is_training": Key(BOOL, default=True, doc="false: the first scale only"),
        "shuffle": Key(BOOL, default=True),
        "seed": Key(INT, nullable=True, doc="default: Global.seed"),
    },
}


def validate_sampler(source, path, value):
    """``sampler``: ``name`` (default ``DistributedBatchSampler``) and that sampler's keys."""
    check_type(source, path, value, MAPPING)
    name = value.get("name", "DistributedBatchSampler")
    resolve_name(source, join_key(path, "name"), SAMPLERS, name)
    out = validate_section(source, path, value, SAMPLER_KEYS[name])
    out["name"] = name
    if name == "MultiScaleSampler":
        problem = multi_scale_problem(out["scales"], out["first_bs"], out["divided_factor"], out["is_training"])
        if problem is not None:
            raise config_error(source, join_key(path, problem[0]), "bad value", problem[1])
    elif name == "RASampler" and out["num_repeats"] < 1:
        raise config_error(source, join_key(path, "num_repeats"), "bad value",
                           f"must be >= 1, got {out['num_repeats']}")
    return out


LOADER = {
    "num_workers": Key(INT, default=0),
    "use_shared_memory": Key(BOOL, default=False),
}
#: One split of ``DataLoader`` (``Train`` or ``Eval``).
SPLIT = {
    "dataset": Key(validate_dataset, required=True, doc="name: Cifar10 | ImageNetDataset | ImageFolder | Digits"),
    "sampler": Key(validate_sampler, required=True, doc="batch_size: ..., or name: MultiScaleSampler | RASampler"),
    "loader": Key(LOADER),
}


def validate_split(source, path, value):
    """A split against :data:`SPLIT`; ``MultiScaleDataset`` and ``MultiScaleSampler`` go together."""
    split = validate_section(source, path, value, SPLIT)
    dataset, sampler = split["dataset"]["name"], split["sampler"]["name"]
    if dataset == "MultiScaleDataset" and sampler != "MultiScaleSampler":
        raise config_error(source, join_key(path, "sampler.name"), "bad value",
                           f"MultiScaleDataset needs the MultiScaleSampler (which draws each batch's image size), "
                           f"got {sampler!r}")
    if sampler == "MultiScaleSampler" and dataset != "MultiScaleDataset":
        raise config_error(source, join_key(path, "dataset.name"), "bad value",
                           f"MultiScaleSampler needs the MultiScaleDataset (which reads each batch at the size "
                           f"drawn), got {dataset!r}")
    if dataset == "MultiScaleDataset":
        _multi_scale_ops(source, join_key(path, "dataset.transform_ops"), split["dataset"].get("transform_ops"))
    problem = dataset == "CustomLabelDataset" and label_key_problem(split["dataset"].get("transform_ops"),
                                                                    split["dataset"].get("label_key"))
    if problem:
        raise config_error(source, join_key(path, "dataset.label_key"), "bad value", problem)
    return split


def _multi_scale_ops(source, path, ops):
    """MultiScaleDataset's ``transform_ops`` have an op it sizes; a note on each one's replaced arguments."""
    sized = [(i, name, args) for i, op in enumerate(ops or ()) for name, args in op.items() if name in SIZED_OPS]
    if not sized:
        raise config_error(source, path, "bad value", f"MultiScaleDataset needs one of {', '.join(SIZED_OPS)} "
                           "(the op that makes the batch's image size); add one")
    for i, name, args in sized:
        note_once(f"{path}[{i}].{name}", f"MultiScaleDataset replaces its arguments ({', '.join(args or {})}) by "
                  "{size: [w, h]} of each batch, as PaddleClas does (every other argument takes its default)")


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
