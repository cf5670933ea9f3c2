"""Convert state dicts between a PyTorch reference and its paddle_conv model, both ways, planned from the models'
structure: ``nn.Linear`` weights transposed, BN ``running_mean`` / ``running_var`` as ``_mean`` / ``_variance``
(``num_batches_tracked`` dropped, restored as 0 on the way back), the rest renamed by the family's
:class:`KeyMapping`. Any key mismatch raises WeightsError listing the keys."""

import contextlib
import fnmatch
import functools
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional
from unittest import mock

import numpy as np
import paddle
import torch

from paddle_conv.cards import KeyMapping
from paddle_conv.errors import WeightsError, listed_names
from paddle_conv.factory import create_model
from paddle_conv.io import safe_torch_load
from paddle_conv.registry import CONVERTERS, MODELS

from .checkpoint import numpy_weights, unwrap_state_dict
from .references import REFERENCES, create_reference

__all__ = ["Conversion", "ConversionPlan", "KeyMapping", "build_paddle_skeleton", "build_torch_skeleton",
           "convert_state", "key_mapping", "paddle_to_torch", "plan_conversion", "torch_to_paddle", "unwrap_state_dict"]

_MAX_LISTED = 20
_BN_NAMES = {"running_mean": "_mean", "running_var": "_variance"}
IDENTITY = KeyMapping()


def key_mapping(model_name):
    """The card's :class:`KeyMapping` of the registered model ``model_name`` (identity names for any other name)."""
    return MODELS.card(model_name).torch_keys if model_name in MODELS else IDENTITY


def _transpose(a):
    return np.ascontiguousarray(a.T)


@dataclass
class _Entry:
    torch_key: str
    paddle_key: Optional[str]  # None: torch-only (num_batches_tracked)
    shape: tuple  # torch shape
    dtype: str  # numpy dtype name of the torch tensor
    to_paddle: object = None
    to_torch: object = None
    part: Optional[tuple] = None  # (start, stop) along axis 0 of a merged Paddle tensor, None: all of it

    def torch_value(self, paddle_array):
        """This entry's torch array from the (whole) Paddle array."""
        if self.part is not None:
            paddle_array = paddle_array[self.part[0]:self.part[1]]
        return self.to_torch(paddle_array) if self.to_torch else paddle_array

    def paddle_value(self, torch_array):
        return self.to_paddle(torch_array) if self.to_paddle else torch_array

    @property
    def paddle_shape(self):
        """Shape of this entry's own (part of the) Paddle tensor."""
        return tuple(self.paddle_value(np.empty(self.shape, dtype=np.bool_)).shape)


@dataclass
class ConversionPlan:
    """Key-by-key plan between one torch reference and one Paddle model (see :func:`plan_conversion`)."""

    entries: list = field(default_factory=list)

    def by_torch_key(self):
        return {e.torch_key: e for e in self.entries}

    def by_paddle_key(self):
        """``{paddle key: [entries]}``: one entry, or the parts of a merged tensor in order."""
        groups = {}
        for e in self.entries:
            if e.paddle_key is not None:
                groups.setdefault(e.paddle_key, []).append(e)
        return groups

    def paddle_shapes(self):
        """``{paddle key: shape}`` of the whole Paddle tensors."""
        return {key: (sum(e.paddle_shape[0] for e in group),) + group[0].paddle_shape[1:]
                for key, group in self.by_paddle_key().items()}


def plan_conversion(torch_model, mapping=IDENTITY, paddle_model=None):
    """Plan the conversion from ``torch_model``'s structure and the family ``mapping``; with ``paddle_model``,
    check its keys, shapes and Linear layers against the plan (WeightsError listing the differences)."""
    entries = []
    modules = dict(torch_model.named_modules())
    for torch_key, tensor in torch_model.state_dict(keep_vars=True).items():
        module_name, _, local = torch_key.rpartition(".")
        module = modules[module_name]
        is_bn = isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
        shape, dtype = tuple(tensor.shape), str(tensor.dtype).replace("torch.", "")
        if is_bn and local == "num_batches_tracked":
            entries.append(_Entry(torch_key, None, shape, dtype))
            continue
        paddle_local = _BN_NAMES.get(local, local) if is_bn else local
        custom = mapping.transform_for(torch_key)
        if custom:
            to_paddle, to_torch = custom
        elif isinstance(module, torch.nn.Linear) and local == "weight":
            to_paddle, to_torch = _transpose, _transpose
        else:
            to_paddle = to_torch = None
        paddle_key = mapping.paddle_key(f"{module_name}.{paddle_local}" if module_name else paddle_local)
        entries.append(_Entry(torch_key, paddle_key, shape, dtype, to_paddle, to_torch))
    plan = ConversionPlan(entries)
    _assign_parts(plan, mapping)
    if paddle_model is not None:
        _check_plan_against_paddle(plan, torch_model, paddle_model)
    return plan


def _assign_parts(plan, mapping):
    for key, group in plan.by_paddle_key().items():
        if len(group) == 1:
            continue
        if not mapping.is_merged(key):
            raise WeightsError(f"the key mapping sends {', '.join(e.torch_key for e in group)} all to {key}; "
                               "declare it in KeyMapping.merged if they are parts of one tensor")
        start = 0
        for e in group:
            stop = start + e.paddle_shape[0]
            e.part, start = (start, stop), stop


def _check_plan_against_paddle(plan, torch_model, paddle_model):
    paddle_state = paddle_model.state_dict()
    problems = key_problems({k: tuple(v.shape) for k, v in paddle_state.items()}, plan.paddle_shapes())
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


def key_problems(given, expected, optional=()):
    """Lines naming the missing / unexpected / wrongly shaped keys of ``given`` vs ``expected`` (``{key: shape}``)."""
    missing = [k for k in expected if k not in given and k not in optional]
    unexpected = [k for k in given if k not in expected]
    wrong = [f"{k} (checkpoint {list(given[k])}, model {list(expected[k])})"
             for k in expected if k in given and tuple(given[k]) != tuple(expected[k])]
    return [f"{what} ({len(keys)}): {listed_names(keys, _MAX_LISTED)}"
            for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatch", wrong))
            if keys]


_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "xavier_uniform_",
                   "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_")


def _keep(tensor, *args, **kwargs):
    return tensor


def build_torch_skeleton(name, initialised=False, **kwargs):
    """The torch reference ``name``, built to read its structure and shapes (values garbage unless ``initialised``:
    skipping ``torch.nn.init`` makes Oct-ResNet-200 ~10x quicker; the meta device's first use costs ~15 s)."""
    skipped = mock.patch.multiple(torch.nn.init, **dict.fromkeys(_INIT_FUNCTIONS, _keep))
    with torch.no_grad(), (contextlib.nullcontext() if initialised else skipped):
        return create_reference(name, **kwargs)


def build_paddle_skeleton(name, initialised=False, **kwargs):
    """The paddle_conv model ``name``, under ``paddle.LazyGuard`` unless ``initialised`` or it runs a probe forward."""
    if not initialised:
        with contextlib.suppress(RuntimeError), paddle.LazyGuard():
            return create_model(name, **kwargs)
    return create_model(name, **kwargs)


@functools.cache
def reference_key_sets(name, kwargs_items=()):
    """``(torch keys, paddle keys)`` of reference ``name`` (``num_batches_tracked`` left out), or None."""
    try:
        plan = plan_conversion(build_torch_skeleton(name, **dict(kwargs_items)), key_mapping(name))
    except Exception:  # a reference that cannot be built with these keywords cannot be it
        return None
    return frozenset(e.torch_key for e in plan.entries if e.paddle_key is not None), frozenset(plan.by_paddle_key())


def _guess_models(keys, side, model_kwargs):
    """Registered models whose key set equals ``keys`` (torch or paddle naming, per ``side``)."""
    given = {k for k in keys if not k.endswith("num_batches_tracked")}
    kwargs = tuple(sorted(model_kwargs.items()))
    try:
        key_sets = {name: reference_key_sets(name, kwargs) for name in REFERENCES.names()}
    except TypeError:  # unhashable builder keywords: no guess
        return []
    return [name for name, sets in key_sets.items() if sets is not None and sets[side == "paddle"] == given]


def _raise_mismatch(problems, model, side, keys, model_kwargs):
    guesses = []
    if model is not None and any(line.startswith(("missing", "unexpected")) for line in problems):
        guesses = _guess_models(keys, side, {k: v for k, v in model_kwargs.items() if k != "num_classes"})
    hints = []
    if guesses and model not in guesses:
        hints.append(f"The checkpoint's keys are those of {', '.join(guesses)}: pass --model {guesses[0]}.")
    else:
        if any(line.startswith("shape mismatch") for line in problems):
            hints.append("If only the classifier differs, the checkpoint was trained with another number of "
                         "classes: pass num_classes (CLI: --num-classes) to match it, or drop it with ignore "
                         "(CLI: --ignore 'fc.*').")
        if any(line.startswith("missing") for line in problems):
            hints.append("To fill a model that has more layers than the checkpoint (another head, extra "
                         "layers), leave those keys as initialised: allow_missing (CLI: --allow-missing PATTERN).")
    raise WeightsError(f"the {side} checkpoint does not fit model {model!r}:\n" + "\n".join(problems + hints))


def _cast(array, dtype):
    return array.astype(dtype, copy=False) if array.dtype.kind == "f" and np.dtype(dtype).kind == "f" else array


def _prepare(model, num_classes, torch_model, paddle_model, model_kwargs, initialised):
    kwargs = dict(model_kwargs, **({} if num_classes is None else {"num_classes": num_classes}))
    if model is None and (torch_model is None or paddle_model is None):
        raise TypeError("pass a registered model name, or both torch_model and paddle_model")
    if model is not None and not isinstance(model, str):
        raise TypeError(f"model must be a registered model name, got {type(model).__name__}")
    try:
        if torch_model is None:
            torch_model = build_torch_skeleton(model, initialised=initialised, **kwargs)
        if paddle_model is None:
            paddle_model = build_paddle_skeleton(model, initialised=initialised, **kwargs)
    except (TypeError, ValueError) as exc:  # builder keywords the model does not take
        raise WeightsError(f"cannot build {model!r} with {kwargs}: {exc}") from exc
    mapping = key_mapping(model) if model is not None else IDENTITY
    return plan_conversion(torch_model, mapping, paddle_model), torch_model, paddle_model, kwargs


@dataclass
class Conversion:
    """What :func:`convert_state` did."""

    state: OrderedDict  # the converted state dict
    filled: list  # target keys taken from the checkpoint
    initialised: list  # target keys left as the fresh model has them (allow_missing / ignore)
    ignored: list  # checkpoint keys dropped by ignore
    notes: list  # one line per thing worth saying (dtype casts)


def _matches(key, patterns):
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def _source_arrays(state, expected, side, allow_nonfinite):
    """``{key: numpy array}`` of the checkpoint tensors the plan reads, dtype-checked; and notes."""
    arrays, cast = {}, []
    for key, value in state.items():
        if key not in expected:
            continue
        array, was = numpy_weights(value, key)
        if was:
            cast.append((key, was))
        if array.dtype.kind not in "fc" and np.dtype(expected[key]).kind == "f":
            raise WeightsError(f"{side} checkpoint key {key!r} holds {array.dtype} values where the model has "
                               f"floating-point weights: a quantized or integer checkpoint cannot be converted; "
                               "use the float checkpoint it was made from")
        if array.dtype.kind in "fc" and not allow_nonfinite and not np.isfinite(array).all():
            bad = int(np.size(array) - np.isfinite(array).sum())
            raise WeightsError(f"{side} checkpoint key {key!r} holds {bad} NaN or infinite value(s): the weights are "
                               "broken (a diverged run?); convert anyway with allow_nonfinite "
                               "(CLI: --allow-nonfinite)")
        arrays[key] = array
    notes = [f"converted {len(cast)} {'/'.join(sorted({was for _, was in cast}))} tensor(s) to float32 "
             f"(e.g. {cast[0][0]}): the models compute in float32"] if cast else []
    return arrays, notes


def convert_state(state_dict, model=None, direction="torch_to_paddle", num_classes=None, *, torch_model=None,
                  paddle_model=None, allow_missing=(), ignore=(), allow_nonfinite=False, **model_kwargs):
    """Convert ``state_dict`` either way (``direction``) and say what was filled (a :class:`Conversion`).

    ``allow_missing``: shell patterns of source-side keys the checkpoint may lack and ``ignore`` of checkpoint keys
    to drop (their targets keep the fresh model's initialisation); ``allow_nonfinite``: convert NaN / infinite
    weights instead of refusing them; other arguments as :func:`torch_to_paddle`."""
    if direction not in ("torch_to_paddle", "paddle_to_torch"):
        raise ValueError(f"direction must be torch_to_paddle or paddle_to_torch, got {direction!r}")
    plan, torch_model, paddle_model, kwargs = _prepare(model, num_classes, torch_model, paddle_model, model_kwargs,
                                                       initialised=bool(allow_missing or ignore))
    to_paddle = direction == "torch_to_paddle"
    side = "torch" if to_paddle else "paddle"
    state = unwrap_state_dict(state_dict)
    if to_paddle and model is not None:
        mapping = key_mapping(model)
        state = OrderedDict((mapping.reference_key(k), v) for k, v in state.items())
    ignored = [k for k in state if _matches(k, ignore)]
    state = OrderedDict((k, v) for k, v in state.items() if k not in ignored)
    if to_paddle:
        expected = {e.torch_key: e.shape for e in plan.entries}
        dtypes = {e.torch_key: e.dtype for e in plan.entries}
        optional = {e.torch_key for e in plan.entries if e.paddle_key is None}
    else:
        expected = plan.paddle_shapes()
        dtypes = {e.paddle_key: e.dtype for e in plan.entries if e.paddle_key is not None}
        optional = set()
    optional |= {k for k in expected if _matches(k, allow_missing) or _matches(k, ignore)}
    problems = key_problems({k: tuple(v.shape) for k, v in state.items()}, expected, optional)
    if problems:
        _raise_mismatch(problems, model, side, state, kwargs)
    arrays, notes = _source_arrays(state, dtypes, side, allow_nonfinite)
    converted = _to_paddle(plan, arrays, paddle_model) if to_paddle else _to_torch(plan, arrays, torch_model)
    return Conversion(*converted, ignored, notes)


def _to_paddle(plan, arrays, paddle_model):
    groups = plan.by_paddle_key()
    out, filled, initialised = OrderedDict(), [], []
    for key, target in paddle_model.state_dict().items():
        dtype = str(target.dtype).replace("paddle.", "")
        parts = []
        for e in groups[key]:
            if e.torch_key in arrays:
                parts.append(e.paddle_value(arrays[e.torch_key]))
            else:  # allowed to be missing: the Paddle model's own initialisation
                init = target.numpy()
                parts.append(init if e.part is None else init[e.part[0]:e.part[1]])
        (initialised if any(e.torch_key not in arrays for e in groups[key]) else filled).append(key)
        array = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        out[key] = paddle.to_tensor(_cast(array, dtype))
    return out, filled, initialised


def _to_torch(plan, arrays, torch_model):
    reference = torch_model.state_dict()
    out, filled, initialised = OrderedDict(), [], []
    for entry in plan.entries:
        if entry.paddle_key is None:
            out[entry.torch_key] = torch.zeros(entry.shape, dtype=getattr(torch, entry.dtype))
        elif entry.paddle_key in arrays:
            array = entry.torch_value(arrays[entry.paddle_key])
            out[entry.torch_key] = torch.from_numpy(np.array(_cast(array, entry.dtype)))
            filled.append(entry.torch_key)
        else:  # allowed to be missing: the reference's own initialisation
            out[entry.torch_key] = reference[entry.torch_key].detach().clone()
            initialised.append(entry.torch_key)
    return out, filled, initialised


def torch_to_paddle(state_dict: Mapping[str, Any], model: Optional[str] = None, num_classes: Optional[int] = None,
                    *, torch_model: Optional[torch.nn.Module] = None, paddle_model: Optional[paddle.nn.Layer] = None,
                    **model_kwargs: Any) -> "OrderedDict[str, paddle.Tensor]":
    """Convert a torch reference ``state_dict`` (upstream layout, wrappers accepted) to the Paddle state dict of the
    registered ``model`` (``num_classes``: the checkpoint's), in its order; ``torch_model`` and ``paddle_model``
    (both required without ``model``) skip building them, ``model_kwargs`` are builder keywords or
    :func:`convert_state`'s options. Raises WeightsError listing every key mismatch before converting."""
    return convert_state(state_dict, model, "torch_to_paddle", num_classes, torch_model=torch_model,
                         paddle_model=paddle_model, **model_kwargs).state


def paddle_to_torch(state_dict: Mapping[str, Any], model: Optional[str] = None, num_classes: Optional[int] = None,
                    *, torch_model: Optional[torch.nn.Module] = None, paddle_model: Optional[paddle.nn.Layer] = None,
                    **model_kwargs: Any) -> "OrderedDict[str, torch.Tensor]":
    """A paddle_conv ``state_dict`` of ``model`` in its torch reference's layout and key order (``strict=True``)."""
    return convert_state(state_dict, model, "paddle_to_torch", num_classes, torch_model=torch_model,
                         paddle_model=paddle_model, **model_kwargs).state


@CONVERTERS.register(name="torch")
def convert_torch_file(read, model: str, num_classes: Optional[int] = None) -> "OrderedDict[str, paddle.Tensor]":
    """The ``"torch"`` converter of published ``.pth`` files (``read(reader)``: the content) for ``create_model``."""
    return torch_to_paddle(read(safe_torch_load), model, num_classes)
