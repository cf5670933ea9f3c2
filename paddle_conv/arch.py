"""Build the network of an ``Arch`` section: a registered model plus PaddleClas's common model keys
(:data:`COMMON_KEYS`, docs/paddleclas.md), e.g. ``build_arch({"name": "oct_resnet26", "class_num": 10})``."""

import difflib
import inspect
import math
from collections import namedtuple

import paddle
import paddle.nn.functional as F
from paddle import nn

from .errors import ConfigError, PaddleConvError, abbreviate, config_error, key_text
from .factory import build_then_load
from .layers.drop_path import drop_path
from .notes import note_once
from .registry import MODELS, list_models, model_card

#: The most classes a model may have (a 2048-wide classifier of this many is 8 GB of float32).
MAX_CLASSES = 1_000_000
#: The Arch keys every model takes (besides ``name`` and its own builder arguments).
COMMON_KEYS = ("class_num", "num_classes", "pretrained", "drop_rate", "drop_path_rate", "head_init_scale",
               "use_sync_bn", "stop_grad_layers", "override_params")

#: A PaddleClas model key that only one model family has: that ``family``, its ``default`` there, ``what`` it sets.
ForeignKey = namedtuple("ForeignKey", "family default what")
#: Keys of one PaddleClas 2.6 architecture: at its default a note, else refused (a model taking the key gets it).
FOREIGN_KEYS = {
    "layer_scale_init_value": ForeignKey("ConvNeXt", 1e-6, "layer scale"),
    "layer_type": ForeignKey("ResNet", "ConvBNLayer", "conv block type"),
    "use_first_short_conv": ForeignKey("ResNet", True, "first-stage shortcut option"),
    "dropout": ForeignKey("MobileViTV3", 0.1, "transformer-layer dropout"),
    "stride_list": ForeignKey("PPLCNet or ResNet", [2, 2, 2, 2, 2], "stage strides"),
    "use_last_conv": ForeignKey("PPLCNet", True, "option of a last 1x1 conv before the classifier"),
    "class_expand": ForeignKey("PPLCNet", 1280, "width of that last conv"),
    "lr_mult_list": ForeignKey("PPLCNet", [1.0] * 6, "learning-rate multipliers of its 6 stages"),
}


def _takes_kwargs(builder):
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(builder).parameters.values())


def own_drop_path_arg(name):
    """The builder argument of model ``name`` that is its stochastic depth rate, or None."""
    return next((p for p in ("drop_path_rate", "stochastic_depth") if p in own_params(name)), None)


def _class_params(builder):
    """Arguments a ``**kwargs`` builder forwards: those of its module's model classes (taking ``num_classes``)."""
    module = inspect.getmodule(builder)
    names = set()
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, nn.Layer) and obj.__module__ == module.__name__:
            params = set(inspect.signature(obj.__init__).parameters)
            if "num_classes" in params:
                names |= params - {"self"}
    return names


def supports_drop_path(name):
    """Whether model ``name`` honours ``drop_path_rate``: it takes a rate itself or its card lists residual branches."""
    return own_drop_path_arg(name) is not None or bool(model_card(name).residual_branches)


def _refuse(where, key, text):
    problem = "bad value" if key in (*COMMON_KEYS, *FOREIGN_KEYS) else "unknown key"
    return config_error(None, f"{where}.{key_text(key)}", problem, text)


def own_params(name):
    """The arguments model ``name`` takes itself (its builder's; its model classes' too when it takes ``**kwargs``)."""
    builder = MODELS.get(name)
    own = set(inspect.signature(builder).parameters) - {"self", "kwargs"}
    return own | _class_params(builder) if _takes_kwargs(builder) else own


def rename_key(arch, old, new, where="Arch", source=None):
    """Rename ``arch[old]``, another name of ``new`` (``class_num``: ``num_classes``); two values: a ConfigError."""
    if old in arch:
        value = arch.pop(old)
        if arch.get(new, value) != value:
            raise config_error(source, f"{where}.{old}", "bad value",
                               f"{old}={value!r} conflicts with {new}={arch[new]!r}; keep one")
        arch[new] = value


def foreign_keys(name, arch):
    """The :data:`FOREIGN_KEYS` of ``arch`` that model ``name`` does not take itself."""
    own = own_params(name)
    return [key for key in arch if key in FOREIGN_KEYS and key not in own]


def _check_foreign(name, arch, where):
    for key in foreign_keys(name, arch):
        family, default, what = FOREIGN_KEYS[key]
        value = arch[key]
        if value != default or isinstance(value, bool) != isinstance(default, bool):
            takers = [model for model in list_models() if key in own_params(model)]
            shown = ", ".join(takers[:3]) + (" ..." if len(takers) > 3 else "")
            ours = f" or one of ours that takes it: {shown}" if takers else ""
            raise _refuse(where, key, f"{abbreviate(value, 80)} sets {family}'s {what}, which defines another "
                          f"architecture than {name}; remove the key (or give {family}'s default {default!r}), "
                          f"or train PaddleClas's own {family}{ours}")
        note_once(f"{where}.{key}", f"{family}'s {what} at its default ({default!r}); {name} has no {what}: "
                  "no effect")


def _sync_bn_not_used():
    """Why SyncBatchNorm would not be used now (None: several GPUs, it is)."""
    if paddle.distributed.get_world_size() <= 1:
        return "one device: its batch statistics are the whole batch's, so the BatchNorm layers stay BatchNorm"
    if not paddle.get_device().startswith("gpu"):
        return "SyncBatchNorm needs GPUs; on CPU each process keeps its own BatchNorm statistics (as PaddleClas)"
    return None


#: ``override_params`` (EfficientNet/TinyNet's) fields with a meaning on every model: ``field -> (kind, what)``.
EFFICIENTNET_PARAMS = {
    "batch_norm_momentum": ("bn", "_momentum"),
    "batch_norm_epsilon": ("bn", "_epsilon"),
    "drop_connect_rate": ("drop_path", "drop_path_rate"),
    "depth_trunc": ("note", "EfficientNet's rounding of its block repeat counts; the model's depth is fixed"),
}


def efficientnet_overrides(name, arch, where="Arch"):
    """``(BatchNorm attributes to set, drop path rate or None)`` of ``arch["override_params"]``."""
    params = arch.get("override_params")
    if params is None:
        return {}, None
    if not isinstance(params, dict):
        raise _refuse(where, "override_params", f"expected a mapping of EfficientNet's global parameters, got "
                      f"{abbreviate(params, 80)}")
    bn, drop_path_rate = {}, None
    for field, value in params.items():
        kind, what = EFFICIENTNET_PARAMS.get(field, (None, None))
        key = f"override_params.{field}"
        if kind is None:
            raise _refuse(where, key, f"sets EfficientNet's own architecture, which {name} is not; remove it "
                          f"(fields with a meaning here: {', '.join(EFFICIENTNET_PARAMS)})")
        if kind == "note":
            note_once(f"{where}.{key}", f"{what}: no effect on {name}")
            continue
        lowest = "above 0" if field == "batch_norm_epsilon" else "from 0"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1 \
                or (field == "batch_norm_epsilon" and value == 0):
            raise _refuse(where, key, f"expected a number {lowest} to below 1, got {value!r}")
        if kind == "bn":
            bn[what] = float(value)
        else:
            if arch.get("drop_path_rate") not in (None, value):
                raise _refuse(where, key, f"{value} conflicts with Arch.drop_path_rate={arch['drop_path_rate']}; "
                              "keep one")
            drop_path_rate = float(value)
    return bn, drop_path_rate


def set_batchnorm(network, attributes):
    """Set ``attributes`` (``_momentum``, ``_epsilon``) on every BatchNorm layer of ``network``; returns the count."""
    kinds = (nn.BatchNorm1D, nn.BatchNorm2D, nn.BatchNorm3D, nn.SyncBatchNorm)
    layers = [layer for layer in network.sublayers() if isinstance(layer, kinds)]
    for layer in layers:
        for attr, value in attributes.items():
            setattr(layer, attr, value)
    return len(layers)


def _check_model_keys(name, arch, where):
    """``head_init_scale``, ``use_sync_bn``, ``stop_grad_layers``."""
    card = model_card(name)
    scale = arch.get("head_init_scale")
    if scale is not None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise _refuse(where, "head_init_scale", f"expected a number, got {scale!r}")
        if scale != 1 and card.classifier is None:
            raise _refuse(where, "head_init_scale", f"{name} has no single classifier layer to scale; remove the key")
    sync = arch.get("use_sync_bn")
    if sync is not None and not isinstance(sync, bool):
        raise _refuse(where, "use_sync_bn", f"expected true or false, got {sync!r}")
    unused = _sync_bn_not_used() if sync else None
    if unused:
        note_once(f"{where}.use_sync_bn", unused)
    stop = arch.get("stop_grad_layers")
    if stop is not None:
        if isinstance(stop, bool) or not isinstance(stop, int) or stop < 0:
            raise _refuse(where, "stop_grad_layers", f"expected a number of stages (0, 1, ...), got {stop!r}")
        if stop and not card.stages:
            raise _refuse(where, "stop_grad_layers", f"{name}'s card lists no feature stages (stage k ending at "
                          "stride 2**k, as VGG's conv blocks), so the first N cannot be frozen; remove the key")
        if stop > len(card.stages):
            raise _refuse(where, "stop_grad_layers", f"{name} has {len(card.stages)} feature stages, not {stop}; "
                          f"use at most {len(card.stages)}")


def check_arch_keys(name, arch, where="Arch"):
    """Refuse (ConfigError naming the key) keys model ``name`` cannot honour, without building it."""
    _check_foreign(name, arch, where)
    _check_model_keys(name, arch, where)
    _, drop_connect = efficientnet_overrides(name, arch, where)
    if drop_connect:
        if not supports_drop_path(name):
            raise _refuse(where, "override_params.drop_connect_rate", f"{name} has no residual blocks or transformer "
                          "layers to drop; remove the field or set it to 0")
        arch = {**arch, "drop_path_rate": drop_connect}
    known = own_params(name) | set(COMMON_KEYS) | set(FOREIGN_KEYS)
    for key in arch if _takes_kwargs(MODELS.get(name)) else ():
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Closest valid key: '{close[0]}'." if close else ""
            shown = key_text(key, quote="'")
            raise _refuse(where, key, f"unknown key {shown} for model {name}.{hint} Remove it or use one of: "
                          f"{', '.join(sorted(known))}")
    for key in ("class_num", "num_classes"):
        value = arch.get(key)
        if value is not None and not (isinstance(value, int) and not isinstance(value, bool)
                                      and 1 <= value <= MAX_CLASSES):
            raise _refuse(where, key, f"expected a class count from 1 to {MAX_CLASSES:,}, got {abbreviate(value, 40)}")
    for key in ("drop_rate", "drop_path_rate"):
        value = arch.get(key)
        if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                      and 0 <= value < 1):
            raise _refuse(where, key, f"expected a number in [0, 1), got {value!r}")
    if arch.get("drop_path_rate") and not supports_drop_path(name):
        raise _refuse(where, "drop_path_rate", f"{name} has no residual blocks or transformer layers to drop; "
                      "remove the key or set it to 0")
    pretrained = arch.get("pretrained")
    if pretrained is True and not model_card(name).weights:
        raise _refuse(where, "pretrained", f"true: {name} has no published weights (paddle_conv.list_pretrained() "
                      "lists the models that have); give a .pdparams or upstream .pth path, or false")
    elif pretrained not in (None, False, True) and not isinstance(pretrained, str):
        raise _refuse(where, "pretrained", f"expected false, true, a weights name, a path or a URL, got "
                      f"{abbreviate(pretrained, 80)}")


def add_dropout_before_classifier(network, rate):
    """Dropout ``rate`` on the input of the network's last ``nn.Linear`` (training only; a hook, so the names stay)."""
    linears = [layer for layer in network.sublayers() if isinstance(layer, nn.Linear)]
    if not linears:
        raise ConfigError(f"Arch.drop_rate: {type(network).__name__} has no nn.Linear classifier to put dropout "
                          "before; remove the key")
    head = linears[-1]
    head.register_forward_pre_hook(lambda layer, inputs: (F.dropout(inputs[0], p=rate, training=layer.training),
                                                          *inputs[1:]))


def _drop_branch(rate):
    def hook(layer, inputs, output):
        if not layer.training or rate == 0:
            return output
        if isinstance(output, tuple):  # a branch of several tensors (OctConv's high, low): one mask per sample
            first = next(part for part in output if part is not None)
            keep = drop_path(paddle.ones([first.shape[0], 1, 1, 1], first.dtype), rate, True)
            return tuple(None if part is None else part * keep for part in output)
        return drop_path(output, rate, True)

    return hook


def add_drop_path(network, rate, branches):
    """Stochastic depth on the card's ``residual_branches``, linearly increasing to ``rate``; returns the count."""
    sites = []
    for layer in network.sublayers():
        for cls, attr, *flag in branches:
            if isinstance(layer, cls) and all(getattr(layer, f) for f in flag):
                sites.append(getattr(layer, attr))
                break
    for i, site in enumerate(sites):
        site.register_forward_post_hook(_drop_branch(rate * i / max(1, len(sites) - 1)))
    return len(sites)


def scale_classifier(network, classifier, scale):
    """Multiply the initial weight and bias of the layer named ``classifier`` by ``scale``."""
    head = dict(network.named_sublayers()).get(classifier)
    if head is None:
        raise ConfigError(f"Arch.head_init_scale: this {type(network).__name__} has no classifier layer "
                          f"{classifier!r} (built without one?); remove the key")
    with paddle.no_grad():
        for param in (head.weight, head.bias):
            if param is not None:
                param.set_value(param * scale)


def freeze_stages(network, stages, count):
    """Mark the parameters of the first ``count`` of ``stages`` (lists of sublayer names) not trainable."""
    layers = dict(network.named_sublayers())
    for stage in stages[:count]:
        for layer in stage:
            for param in layers[layer].parameters():
                param.trainable = False


def build_arch(arch):
    """The network of ``arch`` (``{"name": ..., **builder args, **common keys}``)."""
    arch = dict(arch)
    name = arch.pop("name")
    check_arch_keys(name, arch)
    for key in foreign_keys(name, arch):
        del arch[key]
    bn, drop_connect = efficientnet_overrides(name, arch)
    arch.pop("override_params", None)
    if drop_connect is not None:
        arch["drop_path_rate"] = drop_connect
    card = model_card(name)
    rename_key(arch, "class_num", "num_classes")
    pretrained = arch.pop("pretrained", None)
    drop_rate = arch.pop("drop_rate", None)
    drop_path_rate = arch.pop("drop_path_rate", None)
    head_init_scale = arch.pop("head_init_scale", None)
    use_sync_bn = arch.pop("use_sync_bn", False)
    stop_grad_layers = arch.pop("stop_grad_layers", 0)
    own = own_drop_path_arg(name)
    if drop_path_rate is not None and own is not None:
        arch[own] = drop_path_rate

    def prepare(network):  # at init, before pretrained weights (which replace a loaded classifier)
        if head_init_scale is not None and head_init_scale != 1:
            scale_classifier(network, card.classifier, head_init_scale)

    try:
        network = build_then_load(name, pretrained or False, arch, prepare)
    except PaddleConvError:  # weights that cannot be had or do not fit: their own message
        raise
    except (TypeError, ValueError) as exc:  # an argument or a value the builder refuses
        raise ConfigError(f"Arch: {name} cannot be built with {abbreviate(arch, 200)}: "
                          f"{(str(exc).splitlines() or [''])[0][:300]}; fix the Arch values") from exc
    if use_sync_bn and _sync_bn_not_used() is None:  # before the hooks below: it replaces the BN layers
        network = nn.SyncBatchNorm.convert_sync_batchnorm(network)
    if drop_rate:
        add_dropout_before_classifier(network, drop_rate)
    if drop_path_rate and own is None and add_drop_path(network, drop_path_rate, card.residual_branches) == 0:
        raise ConfigError(f"Arch.drop_path_rate: {name} has no residual blocks to drop; remove the key")
    if bn and set_batchnorm(network, bn) == 0:
        raise ConfigError(f"Arch.override_params: {name} has no BatchNorm layers for "
                          f"{', '.join(f for f, (k, _) in EFFICIENTNET_PARAMS.items() if k == 'bn')}; remove them")
    freeze_stages(network, card.stages, stop_grad_layers)
    return network
