"""``Arch`` of a classification config: a registered model and its keys, or a DistillationModel."""

from ..arch import COMMON_KEYS, FOREIGN_KEYS, check_arch_keys, own_params, rename_key
from ..errors import ConfigError, config_error
from ..models.distillation import DISTILLATION_MODEL
from ..notes import note_once
from ..registry import ARCH_TRANSFORMS, MODELS
from .schema import (
    BOOL,
    INT,
    LIST,
    MAPPING,
    STR,
    Key,
    Type,
    check_type,
    join_key,
    named_entry,
    named_mapping,
    validate_section,
)


def _option_key(default, allowed, doc):
    """The schema Key of a transform's option ``(default, int | bool | tuple of allowed values, doc)``."""
    if isinstance(allowed, tuple):
        return Key(Type(f"one of {', '.join(allowed)}", lambda v: v in allowed), default=default, doc=doc)
    return Key(BOOL if allowed is bool else INT, default=default, doc=doc)


def _transform(key):
    """The validator of ``Arch.<key>`` (an ARCH_TRANSFORMS entry): false/null, true (its defaults) or its options."""
    def validate(source, path, value):
        if value is None or value is False:
            return None
        options = {k: _option_key(*v) for k, v in ARCH_TRANSFORMS.get(key).options.items()}
        return validate_section(source, path, {} if value is True else value, options)
    return validate


#: PaddleClas model keys that only choose an implementation (no effect on the result here).
ARCH_NO_EFFECT = {
    "use_fused_attn": "fused attention kernels are a PaddleClas implementation choice; the model runs as written",
    "use_fused_linear": "fused linear kernels are a PaddleClas implementation choice; the model runs as written",
    "infer_add_softmax": "PaddleClas's export appends a softmax when true; the export here outputs the logits "
                         "and tools/infer.py applies Infer.PostProcess's softmax or sigmoid",
    "use_ssld": "chooses PaddleClas's SSLD-distilled weights of its own models; this model's card has none: "
                "pretrained: true loads its first published weights",
}
#: PaddleClas model keys that are another model family's name of a common key (a model taking the key
#: itself, as PP-LCNet its ``dropout_prob``, gets it).
ARCH_ALIASES = {"classifier_dropout": "drop_rate", "dropout_prob": "drop_rate"}
#: PaddleClas's input layout keys: ``key -> {value: note}`` (the first value is what the model does anyway).
ARCH_LAYOUT = {
    "data_format": {"NCHW": None, "NHWC": "PaddleClas's channel-last layout (faster on GPUs with tensor cores); "
                                          "the model computes in NCHW here: the same numbers"},
    "input_image_channel": {3: None, 4: "PaddleClas's 4-channel input: NormalizeImage channel_num: 4 appends a zero "
                                        "channel (for faster float16 convolutions); the model reads the 3 colour "
                                        "channels, as a first conv over a zero channel adds nothing; the export "
                                        "takes 4 channels, as PaddleClas's"},
}


def _ssld_weights(path, value, name):
    """``use_ssld: true`` with ``pretrained: true``: the card's ``*ssld`` weights where it lists them."""
    if not (value.get("use_ssld") is True and value.get("pretrained") is True and isinstance(name, str)
            and name in MODELS):
        return
    ssld = [entry.name for entry in MODELS.card(name).weights if entry.name.endswith("ssld")]
    if ssld:
        value["pretrained"] = ssld[0]
        value.pop("use_ssld")
        note_once(join_key(path, "use_ssld"), f"PaddleClas's SSLD-distilled weights: pretrained: {ssld[0]}")


def _arch_paddleclas_keys(source, path, value):
    """Accept PaddleClas's implementation keys (a note), layout keys at our value, aliases of the common keys."""
    name = value.get("name")
    own = own_params(name) if isinstance(name, str) and name in MODELS else ()
    for key, common in ARCH_ALIASES.items():
        if key not in own:
            rename_key(value, key, common, path, source)
    _ssld_weights(path, value, name)
    for key, text in ARCH_NO_EFFECT.items():
        if key in value:
            note_once(join_key(path, key), text)
    for key, allowed in ARCH_LAYOUT.items():
        if key in value and value[key] not in allowed:
            raise config_error(source, join_key(path, key), "bad value",
                               f"expected {' or '.join(map(repr, allowed))}, got {value[key]!r}")
        if allowed.get(value.get(key)):
            note_once(join_key(path, key), allowed[value[key]])


def validate_arch(source, path, value):
    """``Arch``: ``name`` (a registered model), its builder arguments and the common keys of :mod:`paddle_conv.arch`."""
    check_type(source, path, value, MAPPING)
    if value.get("name") == DISTILLATION_MODEL:
        return validate_distillation_arch(source, path, value)
    value = dict(value)
    _arch_paddleclas_keys(source, path, value)
    rename_key(value, "class_num", "num_classes", path, source)
    reserved = set(COMMON_KEYS) | set(FOREIGN_KEYS) | set(ARCH_NO_EFFECT) | set(ARCH_LAYOUT)
    transforms = {k: _transform(k) for k in ARCH_TRANSFORMS.names()}
    out = named_mapping(MODELS, reserved=reserved, extra=transforms)(source, path, value)
    for key in (*ARCH_NO_EFFECT, "data_format"):
        out.pop(key, None)
    if out.get("input_image_channel") == 3:
        out.pop("input_image_channel")  # 4 stays: build_model reads the 3 colour channels of 4
    try:
        check_arch_keys(out["name"], {k: v for k, v in out.items() if k not in ("name", "input_image_channel",
                                                                               *ARCH_TRANSFORMS.names())}, path)
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
    """A ``pretrained_list`` / ``freeze_params_list``: null, or one entry per member passing ``check``."""
    if value is None:
        return None
    if len(value) != len(members):
        raise config_error(source, path, "bad value", f"has {len(value)} entries for {len(members)} models "
                           f"({', '.join(members)}); give one per model, in order")
    for i, entry in enumerate(value):
        check(members[i], f"{path}[{i}]", entry)
    return value


def _whole_model_keys(path, value):
    """``use_sync_bn`` of the whole DistillationModel goes to each member without its own; ``use_ssld``: a note."""
    sync = value.pop("use_sync_bn", None)
    if sync is not None and isinstance(value.get("models"), list):
        value["models"] = [{member: {"use_sync_bn": sync, **(arch or {})} for member, arch in entry.items()}
                           if isinstance(entry, dict) else entry for entry in value.get("models") or []]
    if value.pop("use_ssld", None) is not None:
        note_once(join_key(path, "use_ssld"), "PaddleClas's DistillationModel takes no use_ssld (its members "
                                              "have their own): no effect, as there")


def validate_distillation_arch(source, path, value):
    """``Arch`` of ``name: DistillationModel``: ``models`` (``[{Member: {Arch of a model}}]``) and their keys."""
    value = dict(value)
    rename_key(value, "class_num", "num_classes", path, source)
    _whole_model_keys(path, value)
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
