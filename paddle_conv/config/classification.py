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

import inspect

from ..arch import COMMON_KEYS, FOREIGN_KEYS, check_arch_keys
from ..data import DATASETS, SAMPLERS, TRANSFORMS
from ..data.batch_ops import BATCH_TRANSFORMS
from ..data.multi_scale import SIZED_OPS, multi_scale_problem
from ..device import DEVICE_PATTERN
from ..errors import ConfigError, abbreviate
from ..layers.refconv import BASIS_MODES, TRANSFORM_INITS
from ..losses import LOSSES
from ..losses.distillation_losses import DML_ACTIVATIONS
from ..metrics import METRICS
from ..models.distillation import DISTILLATION_MODEL, EVAL_MEMBER, LOGITS_KEY
from ..notes import note_once
from ..optim import LR_SCHEDULERS, OPTIMIZERS
from ..registry import MODELS
from .schema import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    INT_LIST,
    LIST,
    MAPPING,
    STR,
    Key,
    Type,
    check_type,
    config_error,
    join_key,
    named_entry,
    named_list,
    named_mapping,
    resolve_name,
    validate_kwargs,
    validate_section,
)

# ---------------------------------------------------------------------------------- Global
#: ``Global``: the run (epochs, device, output and logging, weights to start from).
GLOBAL = {
    "output_dir": Key(STR, default="./output/", doc="checkpoints and VisualDL logs go under it"),
    "epochs": Key(INT, required=True, doc="number of training epochs"),
    "seed": Key(INT, default=42),
    "device": Key(STR, default="auto", doc="auto (the GPU when Paddle sees one, else cpu), cpu, gpu, gpu:N"),
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
    "to_static": Key(BOOL, default=False, doc="train through paddle.jit.to_static (a static graph)"),
    "eval_mode": Key(STR, default="classification", doc="only classification is implemented"),
    "update_freq": Key(INT, default=1, doc="gradient accumulation: optimizer step every this many batches"),
    "use_dali": Key(BOOL, default=False, doc="NVIDIA DALI data loading (not used here: a note says so)"),
    "image_channel": Key(INT, nullable=True, doc="input channels; must match image_shape[0]"),
    "train_mode": Key(STR, nullable=True, doc="PaddleClas's other training loops (progressive, ...): refused"),
}

#: ``Global.train_mode`` values of PaddleClas 2.6 (``ppcls/engine/train/``) and why each is refused.
TRAIN_MODES = {
    "progressive": "EfficientNetV2's progressive learning (4 stages of growing RandCropImage.progress_size, "
                   "RandAugmentV2.progress_magnitude and head dropout, the train loader rebuilt at each stage) "
                   "is not implemented",
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
    if not DEVICE_PATTERN.fullmatch(g["device"]):
        raise config_error(source, join_key(path, "device"), "bad value",
                           f"expected 'auto', 'cpu', 'gpu' or 'gpu:N', got {g['device']!r}")
    if g["update_freq"] < 1:
        raise config_error(source, join_key(path, "update_freq"), "bad value", f"must be >= 1, got {g['update_freq']}")
    if g["eval_mode"] != "classification":
        raise config_error(source, join_key(path, "eval_mode"), "bad value",
                           f"only 'classification' is implemented, got {g['eval_mode']!r} (retrieval and face "
                           "evaluation are not); use a classification config")
    if g["train_mode"] is not None:
        why = TRAIN_MODES.get(g["train_mode"], f"PaddleClas's train_epoch_{g['train_mode']} loop is not implemented")
        raise config_error(source, join_key(path, "train_mode"), "bad value",
                           f"{g['train_mode']!r}: {why}; remove the key to train with the plain loop")
    if g["image_channel"] is not None and g["image_channel"] != g["image_shape"][0]:
        raise config_error(source, join_key(path, "image_channel"), "bad value",
                           f"{g['image_channel']} differs from image_shape[0] = {g['image_shape'][0]}; make them equal")
    if g["use_dali"]:
        note_once(join_key(path, "use_dali"), "NVIDIA DALI is not used; the Paddle DataLoader reads the images "
                  "with the same transform_ops")
    return g


# ------------------------------------------------------------------------------------- AMP
#: ``AMP``: mixed precision (PaddleClas's section; ``Global.use_amp`` is the older switch).
AMP = {
    "use_amp": Key(BOOL, default=True, doc="the section's presence turns AMP on unless this is false"),
    "scale_loss": Key(FLOAT, default=65536.0, doc="initial loss scale"),
    "use_dynamic_loss_scaling": Key(BOOL, default=True),
    "level": Key(STR, default="O1", doc="O1 (autocast lists) or O2 (float16 weights)"),
    "use_fp16_test": Key(BOOL, default=False, doc="evaluate under autocast too"),
    "use_promote": Key(BOOL, default=False, doc="O2: promote ops with float32 inputs to float32"),
}


def validate_amp(source, path, value):
    """``AMP`` against :data:`AMP` (``level`` O1 or O2)."""
    amp = validate_section(source, path, value, AMP)
    if amp["level"] not in ("O1", "O2"):
        raise config_error(source, join_key(path, "level"), "bad value", f"expected O1 or O2, got {amp['level']!r}")
    return amp


# ------------------------------------------------------------------------------------- EMA
#: ``EMA``: exponential moving average of the weights; evaluation and best_model use it.
EMA = {"decay": Key(FLOAT, default=0.9999, doc="shadow = decay * shadow + (1 - decay) * weights, every step")}


def validate_ema(source, path, value):
    ema = validate_section(source, path, {} if value is None else value, EMA)
    if not 0 < ema["decay"] < 1:
        raise config_error(source, join_key(path, "decay"), "bad value", f"must be in (0, 1), got {ema['decay']}")
    return ema


# ----------------------------------------------------------------------------------- Infer
POSTPROCESS = {
    "name": Key(STR, default="Topk", doc="Topk: the k best classes with their scores; DistillationPostProcess: "
                                         "Topk of one member of a DistillationModel"),
    "topk": Key(INT, default=5),
    "class_id_map_file": Key(STR, nullable=True, doc="'<id> <name>' lines; names the classes in the output"),
    "delimiter": Key(STR, nullable=True, doc="separator of id and name in class_id_map_file (default: space)"),
    "func": Key(STR, nullable=True, doc="DistillationPostProcess: the post-processing applied (Topk)"),
    "model_name": Key(STR, nullable=True, doc="DistillationPostProcess: the member (default Student); the "
                                              "export holds Arch.infer_model_name only, which it must be"),
    "key": Key(STR, nullable=True, doc="DistillationPostProcess: the member's output (logits: our models' only)"),
}
#: ``Infer.PostProcess`` keys of ``DistillationPostProcess`` only.
DISTILLATION_POSTPROCESS = ("func", "model_name", "key")


def _postprocess(source, path, value):
    post = validate_section(source, path, value, POSTPROCESS)
    if post["name"] not in ("Topk", "DistillationPostProcess"):
        raise config_error(source, join_key(path, "name"), "bad value",
                           f"only Topk and DistillationPostProcess (Topk of a member) post-processing are "
                           f"implemented, got {post['name']!r}")
    if post["name"] == "Topk":
        for key in DISTILLATION_POSTPROCESS:
            if post[key] is not None:
                raise config_error(source, join_key(path, key), "unknown key",
                                   f"only DistillationPostProcess takes {key!r}; remove it")
        return post
    if post["func"] not in (None, "Topk"):
        raise config_error(source, join_key(path, "func"), "bad value",
                           f"only Topk is implemented, got {post['func']!r}")
    if post["key"] not in (None, LOGITS_KEY):
        raise config_error(source, join_key(path, "key"), "bad value",
                           f"{post['key']!r}: our models return only their logits (key: logits)")
    post["model_name"] = post["model_name"] or EVAL_MEMBER
    return post


#: ``Infer``: what tools/infer.py and tools/export.py use (images, transforms, post-processing).
INFER = {
    "infer_imgs": Key(STR, nullable=True, doc="an image or a folder (tools/infer.py's default input)"),
    "batch_size": Key(INT, default=10),
    "transforms": Key(named_list(TRANSFORMS, required=False), default=None, nullable=True,
                      doc="DecodeImage ... ToCHWImage, applied to each image"),
    "PostProcess": Key(_postprocess, nullable=True),
}


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


#: PaddleClas model keys that only choose an implementation (no effect on the result here).
ARCH_NO_EFFECT = {
    "use_fused_attn": "fused attention kernels are a PaddleClas implementation choice; the model runs as written",
    "use_fused_linear": "fused linear kernels are a PaddleClas implementation choice; the model runs as written",
    "use_ssld": "chooses PaddleClas's SSLD-distilled weights of its own models; ours have none: with "
                "pretrained: true the model card's published weights are loaded instead",
}
#: PaddleClas model keys that are another model family's name of a common key.
ARCH_ALIASES = {"classifier_dropout": "drop_rate", "dropout_prob": "drop_rate"}
#: PaddleClas model keys accepted when they state what the model does anyway.
ARCH_ONLY = {"data_format": ("NCHW",), "input_image_channel": (3,)}


def _arch_paddleclas_keys(source, path, value):
    """Accept PaddleClas's implementation keys (a note), keys with the only value we do, and
    aliases of the common keys (renamed in ``value``)."""
    for key, common in ARCH_ALIASES.items():
        if key in value:
            if common in value and value[common] != value[key]:
                raise config_error(source, join_key(path, key), "bad value",
                                   f"{key}={value[key]!r} conflicts with {common}={value[common]!r}; keep one")
            value[common] = value.pop(key)
    for key, text in ARCH_NO_EFFECT.items():
        if key in value:
            note_once(join_key(path, key), text)
    for key, allowed in ARCH_ONLY.items():
        if key in value and value[key] not in allowed:
            raise config_error(source, join_key(path, key), "bad value",
                               f"only {allowed[0]!r} is implemented, got {value[key]!r}")


def _class_num_as_num_classes(source, path, value):
    """Rename PaddleClas's ``class_num`` to ``num_classes`` in ``value`` (a conflict is an error)."""
    if "class_num" in value:
        num = value.pop("class_num")
        if "num_classes" in value and value["num_classes"] != num:
            raise config_error(source, join_key(path, "class_num"), "bad value",
                               f"class_num={num!r} conflicts with num_classes={value['num_classes']!r}; keep one")
        value["num_classes"] = num


def validate_arch(source, path, value):
    """``Arch``: ``name`` (a registered model) plus its builder arguments and PaddleClas's common
    keys (``class_num``, ``pretrained``, ``drop_rate``, ``drop_path_rate``: :mod:`paddle_conv.arch`);
    ``class_num`` is read as ``num_classes``. ``name: DistillationModel``: :func:`validate_distillation_arch`."""
    check_type(source, path, value, MAPPING)
    if value.get("name") == DISTILLATION_MODEL:
        return validate_distillation_arch(source, path, value)
    value = dict(value)
    _arch_paddleclas_keys(source, path, value)
    _class_num_as_num_classes(source, path, value)
    reserved = set(COMMON_KEYS) | set(FOREIGN_KEYS) | set(ARCH_NO_EFFECT) | set(ARCH_ONLY)
    out = named_mapping(MODELS, reserved=reserved, extra={"refocus": _refocus})(source, path, value)
    for key in (*ARCH_NO_EFFECT, *ARCH_ONLY):
        out.pop(key, None)
    try:
        check_arch_keys(out["name"], {k: v for k, v in out.items() if k not in ("name", "refocus")}, path)
    except ConfigError as exc:
        raise config_error(source, exc.key_path, exc.problem, exc.text) from None
    return out


#: ``Arch`` of ``name: DistillationModel`` (PaddleClas's keys; ``class_num`` is read as ``num_classes``).
DISTILLATION_ARCH = {
    "name": Key(STR, required=True),
    "models": Key(LIST, required=True, doc="the members: [{Teacher: {name: ..., ...}}, {Student: {...}}]"),
    "pretrained_list": Key(LIST, nullable=True, doc="a weights path (or null) per member"),
    "freeze_params_list": Key(LIST, nullable=True, doc="true for each member that is not trained"),
    "infer_model_name": Key(STR, nullable=True, doc="the member that export, inference and Infer use"),
    "num_classes": Key(INT, nullable=True, doc="the data's class count; each member has its own class_num"),
}
#: Why PaddleClas's feature distillation (a member's inner layers, their losses) is refused.
FEATURE_REASON = ("PaddleClas names the inner layers it returns (blocks[i], avg_pool) after its own models' "
                  "structure, which ours do not share; distil the logits (remove it, and the feature losses)")
FEATURE_DISTILLATION = f"feature distillation is not implemented: {FEATURE_REASON}"


def _per_member(source, path, value, members, check):
    """A ``pretrained_list`` / ``freeze_params_list``: null, or one entry per member passing
    ``check(member, key_path, entry)``."""
    if value is None:
        return None
    if len(value) != len(members):
        raise config_error(source, path, "bad value", f"has {len(value)} entries for {len(members)} models "
                           f"({', '.join(members)}); give one per model, in order")
    for i, entry in enumerate(value):
        check(members[i], f"{path}[{i}]", entry)
    return value


def validate_distillation_arch(source, path, value):
    """``Arch`` of ``name: DistillationModel``: ``models``, a list of ``{Member: {Arch of a model}}``
    (each validated by :func:`validate_arch`), ``pretrained_list``, ``freeze_params_list`` (one entry
    per member), ``infer_model_name`` (a member) and ``class_num`` (the data's class count)."""
    value = dict(value)
    _class_num_as_num_classes(source, path, value)
    out = validate_section(source, path, value, DISTILLATION_ARCH)
    models_path, members, models = join_key(path, "models"), [], []
    if not out["models"]:
        raise config_error(source, models_path, "bad value", "the list is empty; give the Teacher and the Student")
    for i, entry in enumerate(out["models"]):
        member, arch = named_entry(source, f"{models_path}[{i}]", entry)
        where = f"{models_path}[{i}].{member}"
        if member in members:
            raise config_error(source, where, "bad value", f"a second model named {member!r}; give each its own name")
        if "return_patterns" in arch:
            raise config_error(source, join_key(where, "return_patterns"), "bad value", FEATURE_DISTILLATION)
        if arch.get("name") in ("AttentionModel", DISTILLATION_MODEL):
            raise config_error(source, join_key(where, "name"), "bad value",
                               f"{arch['name']} inside a DistillationModel (PaddleClas's AFD attention "
                               f"distillation) is not implemented: {FEATURE_REASON}")
        members.append(member)
        models.append({member: validate_arch(source, where, arch)})
        if MODELS.card(arch["name"]).task != "classification":
            raise config_error(source, join_key(where, "name"), "bad value",
                               f"{arch['name']} is a detector; a DistillationModel's models are classifiers "
                               "(detection distillation has its own configs: configs/ssd_kd_shapes.yaml)")
    out["models"] = models

    def weights(member, where, entry):
        check_type(source, where, entry, STR, nullable=True)
        i = members.index(member)
        own = models[i][member].get("pretrained")
        if entry is not None and own not in (None, False):
            raise config_error(source, where, "bad value", f"{entry!r} conflicts with {models_path}[{i}].{member}."
                               f"pretrained={own!r}; keep one")

    _per_member(source, join_key(path, "pretrained_list"), out["pretrained_list"], members, weights)
    frozen = _per_member(source, join_key(path, "freeze_params_list"), out["freeze_params_list"], members,
                         lambda member, where, entry: check_type(source, where, entry, BOOL))
    if frozen and all(frozen):
        raise config_error(source, join_key(path, "freeze_params_list"), "bad value",
                           "every model is frozen, so nothing would train; set the Student's entry to false")
    if out["infer_model_name"] is not None and out["infer_model_name"] not in members:
        raise config_error(source, join_key(path, "infer_model_name"), "bad value",
                           f"{out['infer_model_name']!r} is none of the models ({', '.join(members)}); name the one "
                           "to export")
    if out["num_classes"] is None:
        out.pop("num_classes")
    return out


# ------------------------------------------------------------------------------------ Loss
#: PaddleClas losses and metrics of a model with several outputs; ours have one.
MULTI_OUTPUT = {
    "GoogLeNetLoss": "weighs the three outputs of PaddleClas's GoogLeNet (its classifier and two auxiliary "
                     "classifiers: 1, 0.3, 0.3); our models have one output: use CELoss",
    "GoogLeNetTopkAcc": "scores the first of the three outputs of PaddleClas's GoogLeNet; our models have one "
                        "output: use TopkAcc",
}


def _refuse_multi_output(source, path, value):
    """ConfigError for an entry of :data:`MULTI_OUTPUT` in the ``{Name: {kwargs}}`` list ``value``."""
    for i, entry in enumerate(value if isinstance(value, list) else ()):
        name = next(iter(entry), None) if isinstance(entry, dict) else entry
        if isinstance(name, str) and name in MULTI_OUTPUT:
            raise config_error(source, f"{path}[{i}]", "bad value", f"{name} {MULTI_OUTPUT[name]}")


#: PaddleClas's losses of feature distillation (they compare inner layers' outputs), refused.
FEATURE_LOSSES = ("AFDLoss", "DistillationPairLoss", "DistillationDistanceLoss", "DistillationRKDLoss")


def validate_losses(source, path, value):
    """A list of ``{LossName: {kwargs}}`` (each may carry a ``weight``); the distillation losses'
    keys are checked by :func:`_distillation_loss_keys`."""
    check_type(source, path, value, LIST)
    _refuse_multi_output(source, path, value)
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
    """The keys of a distillation loss (:mod:`paddle_conv.losses.distillation_losses`) that its signature's
    types do not check: the member names, ``key`` (logits only), PaddleClas's options not implemented."""
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


# ------------------------------------------------------------------------------ DataLoader
def validate_dataset(source, path, value, allow_fallback=True):
    """``dataset``: ``name`` (a registered data set), its arguments, ``transform_ops`` and an
    optional ``fallback`` data set (which may set its own ``batch_size`` / ``num_workers``)."""
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


# ---------------------------------------------------------------------------------- Metric
def validate_metrics(source, path, value):
    """A list of ``{MetricName: {kwargs}}``."""
    _refuse_multi_output(source, path, value)
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

#: The schema of a classification config (PaddleClas's layout).
SCHEMA = {
    "Global": Key(validate_global, required=True),
    "Arch": Key(validate_arch, required=True, doc="name: a registered model, plus its builder arguments"),
    "Loss": Key(LOSS, required=True),
    "Optimizer": Key(validate_optimizer, required=True, doc="name: Momentum | Adam | AdamW, lr: {...}"),
    "DataLoader": Key(DATALOADER, required=True),
    "Metric": Key(METRIC),
    "AMP": Key(validate_amp, nullable=True, doc="use_amp, scale_loss, use_dynamic_loss_scaling, level, ..."),
    "EMA": Key(validate_ema, nullable=True, doc="decay: exponential moving average of the weights"),
    "Infer": Key(INFER, doc="infer_imgs, batch_size, transforms, PostProcess (tools/infer.py and export)"),
}
