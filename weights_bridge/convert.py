"""Convert state dicts between a PyTorch reference and its paddle_conv model, both ways.

The conversion is planned from the models' *structure*, not guessed from tensor names or ranks:

* every ``torch.nn.Linear`` weight is transposed (torch ``[out, in]``, Paddle ``[in, out]``);
* every torch batch-norm's ``running_mean`` / ``running_var`` become ``_mean`` / ``_variance``,
  and ``num_batches_tracked`` (Paddle has none) is dropped, or restored as 0 on the way back;
* every other parameter and buffer keeps its name and layout (convolutions, norms, embeddings).

A family whose Paddle names differ from upstream's registers one :class:`KeyMapping` (regex
renames of module paths, optional per-key transforms) with :func:`register_key_mapping`; nothing
is written per model. Every mismatch (missing, unexpected or wrongly shaped keys) raises
:class:`~paddle_conv.errors.WeightsError` listing the keys before anything is returned.

    >>> import torch, weights_bridge
    >>> sd = torch.load("oct_resnet50.pth", map_location="cpu", weights_only=True)
    >>> paddle_sd = weights_bridge.torch_to_paddle(sd, model="oct_resnet50")
"""

import functools
import re
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import paddle
import torch

from paddle_conv.errors import WeightsError
from paddle_conv.registry import Registry, create_model

from .references import REFERENCES, create_reference

__all__ = ["KeyMapping", "ConversionPlan", "register_key_mapping", "plan_conversion", "torch_to_paddle",
           "paddle_to_torch", "unwrap_state_dict", "build_torch_skeleton", "build_paddle_skeleton"]

_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net")
_PREFIXES = ("module.", "_layers.")  # torch DataParallel / DDP, Paddle DataParallel
_MAX_LISTED = 20


@dataclass(frozen=True)
class KeyMapping:
    r"""How one family's Paddle names differ from its torch reference's.

    Args:
        renames: ``(torch_pattern, paddle_replacement)`` regex pairs applied in order (``re.sub``)
            to torch keys and, by the layer-by-layer locator, to torch module paths: write them
            for module paths, e.g. ``(r"\bmlp\b", "ffn")``. Both directions use them: the plan
            is always made from the torch structure. Empty: identical names, the usual case.
        transforms: ``(torch_key_pattern, to_paddle, to_torch)``: functions on numpy arrays for
            keys whose layout differs beyond a Linear transpose (``re.fullmatch`` on the torch key).
    """

    renames: tuple = ()
    transforms: tuple = ()

    def paddle_key(self, torch_key):
        for pattern, repl in self.renames:
            torch_key = re.sub(pattern, repl, torch_key)
        return torch_key

    def transform_for(self, torch_key):
        for pattern, to_paddle, to_torch in self.transforms:
            if re.fullmatch(pattern, torch_key):
                return to_paddle, to_torch
        return None


IDENTITY = KeyMapping()
KEY_MAPPINGS = Registry("weight key mapping")


def register_key_mapping(mapping, *model_names):
    """Use ``mapping`` for the models ``model_names`` (one call per family)."""
    for name in model_names:
        KEY_MAPPINGS.register(mapping, name=name)
    return mapping


def key_mapping(model_name):
    """The family mapping of ``model_name`` (identity names when none is registered)."""
    return KEY_MAPPINGS.get(model_name) if model_name in KEY_MAPPINGS else IDENTITY


def _transpose(a):
    return np.ascontiguousarray(a.T)


@dataclass
class _Entry:
    torch_key: str
    paddle_key: str  # None: torch-only (num_batches_tracked)
    shape: tuple  # torch shape
    dtype: str  # numpy dtype name of the torch tensor
    to_paddle: object = None
    to_torch: object = None


@dataclass
class ConversionPlan:
    """Key-by-key plan between one torch reference and one Paddle model (see :func:`plan_conversion`)."""

    entries: list = field(default_factory=list)

    @property
    def torch_keys(self):
        return [e.torch_key for e in self.entries]

    @property
    def paddle_keys(self):
        return [e.paddle_key for e in self.entries if e.paddle_key is not None]

    def by_torch_key(self):
        return {e.torch_key: e for e in self.entries}

    def by_paddle_key(self):
        return {e.paddle_key: e for e in self.entries if e.paddle_key is not None}

    def paddle_shape(self, entry):
        probe = np.empty(entry.shape, dtype=np.bool_)
        return tuple(entry.to_paddle(probe).shape) if entry.to_paddle else entry.shape


def plan_conversion(torch_model, mapping=IDENTITY, paddle_model=None):
    """Plan the conversion from ``torch_model``'s structure and the family ``mapping``.

    With ``paddle_model`` the plan is checked against it: same keys, same shapes, and a Paddle
    ``nn.Linear`` wherever torch has one. A difference is a bug of the model or the mapping and
    raises WeightsError listing the keys.
    """
    entries = []
    for module_name, module in torch_model.named_modules():
        prefix = module_name + "." if module_name else ""
        is_linear = isinstance(module, torch.nn.Linear)
        is_bn = isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
        tensors = list(module.named_parameters(recurse=False)) + [
            (n, b) for n, b in module.named_buffers(recurse=False)
            if b is not None and n not in module._non_persistent_buffers_set]
        for local, tensor in tensors:
            torch_key = prefix + local
            shape = tuple(tensor.shape)
            dtype = str(tensor.dtype).replace("torch.", "")
            if is_bn and local == "num_batches_tracked":
                entries.append(_Entry(torch_key, None, shape, dtype))
                continue
            paddle_local = {"running_mean": "_mean", "running_var": "_variance"}.get(local, local) if is_bn \
                else local
            custom = mapping.transform_for(torch_key)
            if custom:
                to_paddle, to_torch = custom
            elif is_linear and local == "weight":
                to_paddle, to_torch = _transpose, _transpose
            else:
                to_paddle = to_torch = None
            entries.append(_Entry(torch_key, mapping.paddle_key(prefix + paddle_local), shape, dtype,
                                  to_paddle, to_torch))
    plan = ConversionPlan(entries)
    if paddle_model is not None:
        _check_plan_against_paddle(plan, torch_model, paddle_model)
    return plan


def _check_plan_against_paddle(plan, torch_model, paddle_model):
    paddle_state = paddle_model.state_dict()
    expected = plan.by_paddle_key()
    problems = _key_problems(
        {k: tuple(v.shape) for k, v in paddle_state.items()},
        {k: plan.paddle_shape(e) for k, e in expected.items()},
    )
    paddle_layers = dict(paddle_model.named_sublayers(include_self=True))
    torch_modules = dict(torch_model.named_modules())
    for entry in plan.entries:
        module_name = entry.torch_key.rpartition(".")[0]
        if isinstance(torch_modules.get(module_name), torch.nn.Linear) and entry.paddle_key in paddle_state:
            layer = paddle_layers.get(entry.paddle_key.rpartition(".")[0])
            if layer is not None and not isinstance(layer, paddle.nn.Linear):
                problems.append(f"{entry.torch_key}: torch Linear but Paddle {type(layer).__name__}; "
                                "register a KeyMapping transform for it")
    if problems:
        raise WeightsError(
            f"the Paddle model {type(paddle_model).__name__} does not match its torch reference "
            f"{type(torch_model).__name__} (fix the model or its KeyMapping):\n" + "\n".join(problems))


def _listed(keys):
    keys = list(keys)
    shown = ", ".join(keys[:_MAX_LISTED])
    return shown + (f" ... and {len(keys) - _MAX_LISTED} more" if len(keys) > _MAX_LISTED else "")


def _key_problems(given, expected, optional=()):
    """Lines describing missing / unexpected / wrongly shaped keys of ``given`` vs ``expected``
    (both ``{key: shape}``); ``optional`` keys may be absent."""
    missing = [k for k in expected if k not in given and k not in optional]
    unexpected = [k for k in given if k not in expected]
    wrong = [f"{k} (checkpoint {list(given[k])}, model {list(expected[k])})"
             for k in expected if k in given and tuple(given[k]) != tuple(expected[k])]
    lines = []
    if missing:
        lines.append(f"missing keys ({len(missing)}): {_listed(missing)}")
    if unexpected:
        lines.append(f"unexpected keys ({len(unexpected)}): {_listed(unexpected)}")
    if wrong:
        lines.append(f"shape mismatch ({len(wrong)}): {_listed(wrong)}")
    return lines


def unwrap_state_dict(obj):
    """The flat ``{key: tensor}`` inside a checkpoint.

    Accepts a state dict, ``{'state_dict': ...}`` / ``{'model': ...}`` / ``{'model_state_dict': ...}``
    wrappers (as training scripts save them, with epoch and optimizer beside), and strips a
    ``module.`` (torch DataParallel) or ``_layers.`` (Paddle DataParallel) prefix shared by every key.
    """
    while isinstance(obj, dict) and not _is_flat_state(obj):
        inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            raise WeightsError(
                "the checkpoint is not a state dict: it is a dict with keys "
                f"{_listed(map(str, obj))} and none of {', '.join(_WRAPPER_KEYS)} holds the weights")
        obj = inner
    if not isinstance(obj, dict):
        raise WeightsError(f"the checkpoint holds a {type(obj).__name__}, not a state dict of tensors")
    state = OrderedDict(obj)
    for prefix in _PREFIXES:
        if state and all(k.startswith(prefix) for k in state):
            state = OrderedDict((k[len(prefix):], v) for k, v in state.items())
    return state


def _is_flat_state(obj):
    return bool(obj) and all(isinstance(k, str) for k in obj) and all(_is_array(v) for v in obj.values())


def _is_array(v):
    return isinstance(v, (torch.Tensor, np.ndarray, paddle.Tensor))


def to_numpy(value):
    """A numpy copy of a torch / Paddle tensor or array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, paddle.Tensor):
        return value.numpy()
    return np.asarray(value)


def build_torch_skeleton(name, **kwargs):
    """The torch reference ``name``, built to read its structure and shapes.

    Built on the CPU: the meta device would save the initialisation (under a second even for
    Oct-ResNet-200) but its first use imports torch's decompositions, ~15 s on a small machine.
    """
    with torch.no_grad():
        return create_reference(name, **kwargs)


def build_paddle_skeleton(name, **kwargs):
    """The paddle_conv model ``name`` built under ``paddle.LazyGuard`` (parameters not initialised)."""
    with paddle.LazyGuard():
        return create_model(name, **kwargs)


def _model_kwargs(num_classes, kwargs):
    return dict(kwargs, **({} if num_classes is None else {"num_classes": num_classes}))


@functools.cache
def _reference_key_sets(name, kwargs_items):
    """``(torch keys, paddle keys)`` of reference ``name`` (``num_batches_tracked`` left out), or None."""
    try:
        plan = plan_conversion(build_torch_skeleton(name, **dict(kwargs_items)), key_mapping(name))
    except Exception:  # a reference that cannot be built with these keywords cannot be it
        return None
    return frozenset(e.torch_key for e in plan.entries if e.paddle_key is not None), frozenset(plan.paddle_keys)


def _guess_models(keys, side, model_kwargs):
    """Registered models whose key set equals ``keys`` (torch or paddle naming, per ``side``)."""
    given = {k for k in keys if not k.endswith("num_batches_tracked")}
    found = []
    for name in REFERENCES.names():
        try:
            key_sets = _reference_key_sets(name, tuple(sorted(model_kwargs.items())))
        except TypeError:  # unhashable builder keywords: no guess
            return []
        if key_sets is not None and key_sets[side == "paddle"] == given:
            found.append(name)
    return found


def _raise_mismatch(problems, model, side, keys, model_kwargs):
    guesses = []
    if model is not None and any(line.startswith(("missing", "unexpected")) for line in problems):
        guesses = _guess_models(keys, side, {k: v for k, v in model_kwargs.items() if k != "num_classes"})
    hint = ""
    if guesses and model not in guesses:
        hint = f"\nThe checkpoint's keys are those of {', '.join(guesses)}: pass --model {guesses[0]}."
    elif any(line.startswith("shape mismatch") for line in problems):
        hint = ("\nIf only the classifier differs, the checkpoint was trained with another number of "
                "classes: pass num_classes (CLI: --num-classes) to match it.")
    raise WeightsError(f"the {side} checkpoint does not fit model {model!r}:\n" + "\n".join(problems) + hint)


def _cast(array, dtype):
    return array.astype(dtype, copy=False) if array.dtype.kind == "f" and np.dtype(dtype).kind == "f" else array


def _prepare(model, num_classes, torch_model, paddle_model, model_kwargs):
    kwargs = _model_kwargs(num_classes, model_kwargs)
    if model is None and (torch_model is None or paddle_model is None):
        raise TypeError("pass a registered model name, or both torch_model and paddle_model")
    if model is not None and not isinstance(model, str):
        raise TypeError(f"model must be a registered model name, got {type(model).__name__}")
    torch_model = torch_model if torch_model is not None else build_torch_skeleton(model, **kwargs)
    paddle_model = paddle_model if paddle_model is not None else build_paddle_skeleton(model, **kwargs)
    mapping = key_mapping(model) if model is not None else IDENTITY
    return plan_conversion(torch_model, mapping, paddle_model), paddle_model, kwargs


def torch_to_paddle(state_dict, model=None, num_classes=None, *, torch_model=None, paddle_model=None,
                    **model_kwargs):
    """Convert a torch reference ``state_dict`` (upstream layout) to the paddle_conv model ``model``.

    Args:
        state_dict: the torch checkpoint (wrappers and ``module.`` prefixes accepted).
        model: registered model name, e.g. ``"oct_resnet50"`` (its family's KeyMapping applies).
        num_classes: classifier size of the checkpoint (the model's default when None).
        torch_model, paddle_model: already built instances to plan from (skips building them;
            both are required when ``model`` is None, and then names must match one to one).
        model_kwargs: further builder keywords, passed to both builders.

    Returns:
        ``OrderedDict`` of Paddle key -> ``paddle.Tensor`` in the Paddle model's order, for
        ``layer.set_state_dict``.

    Raises:
        WeightsError: missing, unexpected or wrongly shaped keys, all listed, before any conversion.
    """
    plan, paddle_model, kwargs = _prepare(model, num_classes, torch_model, paddle_model, model_kwargs)
    state = unwrap_state_dict(state_dict)
    optional = {e.torch_key for e in plan.entries if e.paddle_key is None}
    problems = _key_problems({k: tuple(v.shape) for k, v in state.items()},
                             {e.torch_key: e.shape for e in plan.entries}, optional)
    if problems:
        _raise_mismatch(problems, model, "torch", state, kwargs)
    by_paddle = plan.by_paddle_key()
    out = OrderedDict()
    for key, target in paddle_model.state_dict().items():
        entry = by_paddle[key]
        array = to_numpy(state[entry.torch_key])
        if entry.to_paddle:
            array = entry.to_paddle(array)
        out[key] = paddle.to_tensor(_cast(array, str(target.dtype).replace("paddle.", "")))
    return out


def paddle_to_torch(state_dict, model=None, num_classes=None, *, torch_model=None, paddle_model=None,
                    **model_kwargs):
    """Convert a paddle_conv ``state_dict`` of ``model`` to its torch reference's (upstream) layout.

    Same arguments as :func:`torch_to_paddle`. Returns an ``OrderedDict`` of ``torch.Tensor`` in
    upstream key order that loads with ``load_state_dict(..., strict=True)``;
    ``num_batches_tracked`` is restored as 0.
    """
    plan, _, kwargs = _prepare(model, num_classes, torch_model, paddle_model, model_kwargs)
    state = unwrap_state_dict(state_dict)
    expected = {e.paddle_key: plan.paddle_shape(e) for e in plan.entries if e.paddle_key is not None}
    problems = _key_problems({k: tuple(v.shape) for k, v in state.items()}, expected)
    if problems:
        _raise_mismatch(problems, model, "paddle", state, kwargs)
    out = OrderedDict()
    for entry in plan.entries:
        if entry.paddle_key is None:
            out[entry.torch_key] = torch.zeros(entry.shape, dtype=getattr(torch, entry.dtype))
            continue
        array = to_numpy(state[entry.paddle_key])
        if entry.to_torch:
            array = entry.to_torch(array)
        out[entry.torch_key] = torch.from_numpy(np.array(_cast(array, entry.dtype)))
    return out

# Families whose Paddle names differ from their reference's.
register_key_mapping(KeyMapping(renames=((r"^L2Norm\b", "l2_norm"), (r"^loc\b", "loc_heads"),
                                         (r"^conf\b", "conf_heads"))), "ssd300_vgg16")
