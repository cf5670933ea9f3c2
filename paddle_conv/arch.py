"""Build the network of an ``Arch`` section: a registered model plus PaddleClas's common model keys.

Every model takes, besides its own builder arguments (as PaddleClas's models do):

- ``class_num`` (or ``num_classes``): the number of classes.
- ``drop_rate``: dropout on the classifier's input (the last ``nn.Linear``), in training only.
- ``drop_path_rate``: stochastic depth. Transformer models (CCT) take it as their
  ``stochastic_depth``; residual models (ResNet, OctResNet, ...) drop each bottleneck's residual
  branch per sample, block ``i`` of ``n`` with rate ``drop_path_rate * i / (n - 1)``. A model
  without residual blocks or transformer layers refuses a non-zero rate.
- ``pretrained``: ``false``/null (random init), ``true`` (the model card's first published
  weights), a weights name of the card, a path (``.pdparams`` or its prefix, or an upstream
  ``.pth`` converted by the bridge) or a URL: see :func:`paddle_conv.create_model`.

Example::

    net = build_arch({"name": "oct_resnet26", "class_num": 10, "drop_rate": 0.2, "drop_path_rate": 0.1})
"""

import difflib
import fnmatch
import inspect

import paddle
import paddle.nn.functional as F
from paddle import nn
from paddle.vision.models.resnet import BasicBlock, BottleneckBlock

from .errors import ConfigError, PaddleConvError, abbreviate
from .layers.bottleneck import Bottleneck
from .layers.drop_path import drop_path
from .registry import MODELS, create_model, model_card

#: The Arch keys every model takes (besides ``name`` and its own builder arguments).
COMMON_KEYS = ("class_num", "num_classes", "pretrained", "drop_rate", "drop_path_rate")

#: Builder arguments that are a model's own stochastic depth rate.
_OWN_DROP_PATH = ("drop_path_rate", "stochastic_depth")
#: ``residual block class -> attribute whose output ends the residual branch``.
_BRANCH_ENDS = ((Bottleneck, "bn3"), (BottleneckBlock, "bn3"), (BasicBlock, "bn2"))
#: Registered models whose residual branches :func:`add_drop_path` finds (checked without building).
RESIDUAL_MODELS = ("oct_resnet*", "resnet50", "resnet50_dcn", "conv_resnet50")


def _branch_end_classes():
    from .models.oct_resnet import OctBottleneck

    return _BRANCH_ENDS + ((OctBottleneck, "conv3"),)


def own_drop_path_arg(name):
    """The builder argument of model ``name`` that is its stochastic depth rate, or None."""
    builder = MODELS.get(name)
    params = inspect.signature(builder).parameters
    own = next((p for p in _OWN_DROP_PATH if p in params), None)
    if own is None and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        own = next((p for p in _OWN_DROP_PATH if p in _class_params(builder)), None)
    return own


def _class_params(builder):
    """Arguments a ``**kwargs`` builder forwards to its model class: those of its module's model
    classes (the layers taking ``num_classes``)."""
    module = inspect.getmodule(builder)
    names = set()
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, nn.Layer) and obj.__module__ == module.__name__:
            params = set(inspect.signature(obj.__init__).parameters)
            if "num_classes" in params:
                names |= params - {"self"}
    return names


def supports_drop_path(name):
    """Whether model ``name`` honours ``drop_path_rate`` (known without building it)."""
    return own_drop_path_arg(name) is not None or any(fnmatch.fnmatch(name, p) for p in RESIDUAL_MODELS)


def _refuse(where, key, text):
    exc = ConfigError(f"{where}.{key}: {text}")
    exc.key, exc.text = key, text
    return exc


def check_arch_keys(name, arch, where="Arch"):
    """Refuse keys model ``name`` cannot honour, without building it: a ConfigError naming the key
    (``exc.key``, ``exc.text``). Covers the common keys and, for builders taking ``**kwargs``, keys
    that neither the builder nor its model classes take."""
    builder = MODELS.get(name)
    params = inspect.signature(builder).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        known = set(params) | _class_params(builder) | set(COMMON_KEYS)
        for key in arch:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" Closest valid key: '{close[0]}'." if close else ""
                raise _refuse(where, key, f"unknown key '{key}' for model {name}.{hint} Remove it or use one of: "
                              f"{', '.join(sorted(k for k in known if k not in ('self', 'kwargs')))}")
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
    """Dropout ``rate`` on the input of the network's last ``nn.Linear`` (training only).

    A forward pre-hook, so parameter names (and checkpoints) stay those of the plain model.
    """
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
        if isinstance(output, tuple):  # OctConv's (high, low): one mask per sample for both
            high, low = output
            keep = drop_path(paddle.ones([high.shape[0], 1, 1, 1], high.dtype), rate, True)
            return high * keep, (low * keep if low is not None else None)
        return drop_path(output, rate, True)

    return hook


def add_drop_path(network, rate):
    """Stochastic depth on every residual branch, linearly increasing to ``rate``; returns the count."""
    ends = _branch_end_classes()
    sites = []
    for layer in network.sublayers():
        for cls, attr in ends:
            if isinstance(layer, cls):
                sites.append(getattr(layer, attr))
                break
    for i, site in enumerate(sites):
        site.register_forward_post_hook(_drop_branch(rate * i / max(1, len(sites) - 1)))
    return len(sites)


def build_arch(arch):
    """The network of ``arch`` (``{"name": ..., **builder args, **common keys}``)."""
    arch = dict(arch)
    name = arch.pop("name")
    check_arch_keys(name, arch)
    if "class_num" in arch:
        num = arch.pop("class_num")
        if arch.get("num_classes", num) != num:
            raise ConfigError(f"Arch.class_num={num!r} conflicts with num_classes={arch['num_classes']!r}; keep one")
        arch["num_classes"] = num
    pretrained = arch.pop("pretrained", None)
    drop_rate = arch.pop("drop_rate", None)
    drop_path_rate = arch.pop("drop_path_rate", None)
    own = own_drop_path_arg(name)
    if drop_path_rate is not None and own is not None:
        arch[own] = drop_path_rate
    try:
        network = create_model(name, pretrained=pretrained or False, **arch)
    except PaddleConvError:  # weights that cannot be had or do not fit: their own message
        raise
    except (TypeError, ValueError) as exc:  # an argument the builder does not know, or a value it refuses
        raise ConfigError(f"Arch: {name} cannot be built with {abbreviate(arch, 200)}: "
                          f"{(str(exc).splitlines() or [''])[0][:300]}; fix the Arch values") from exc
    if drop_rate:
        add_dropout_before_classifier(network, drop_rate)
    if drop_path_rate and own is None and add_drop_path(network, drop_path_rate) == 0:
        raise ConfigError(f"Arch.drop_path_rate: {name} has no residual blocks to drop; remove the key")
    return network
