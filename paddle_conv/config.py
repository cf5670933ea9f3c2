"""PaddleClas-style YAML configs: load, apply ``-o`` overrides, validate.

A config has the sections ``Global``, ``Arch``, ``Loss``, ``Optimizer``, ``DataLoader`` and
``Metric`` (see ``configs/oct_mobilenet.yaml``). :func:`load_config` reads the file, applies
``-o Key.sub=value`` overrides (values parsed as YAML: ``3``, ``1e-3``, ``null``, ``[1, 5]``),
fills defaults and validates every key, so a typo stops the run before any work is done.

Every problem raises :class:`~paddle_conv.errors.ConfigError` (or
:class:`~paddle_conv.errors.UnknownNameError` for a model/loss/optimizer/... name no registry
knows) with a message of one fixed shape::

    <file>: <Key.path>: <problem>. <fix>

The exception also carries ``source`` (the file, or ``-o KEY=VALUE`` for a bad override),
``key_path`` (``"Global.epochs"``) and ``problem`` (one of :data:`PROBLEMS`), so callers and
tests can tell errors apart without parsing text.

Keys that are builder arguments (``Arch``, a loss's, an optimizer's, a scheduler's, a data
set's, a transform's) are checked against the registered builder's signature: an unknown
argument names the closest valid one, and an argument whose default is a bool/int/float/str
must have that type.

Example::

    cfg = load_config("configs/oct_mobilenet.yaml", ["Global.epochs=3", "Arch.alpha=0.25"])
    cfg["Global"]["epochs"]   # 3

Other trainers reuse the loader with their own schema: ``load_config(path, overrides,
schema={**SCHEMA, "Teacher": Key({...}, required=True)})``; a schema is a dict of
:class:`Key` (type, required, default), nested dicts for sections, or validator callables
such as :func:`named_mapping` / :func:`named_list` for registry-resolved entries.
"""

import copy
import difflib
import inspect
import os
import re

import yaml

from .device import DEVICE_PATTERN
from .errors import ConfigError, UnknownNameError

#: The ``problem`` codes a ConfigError / UnknownNameError raised here carries.
PROBLEMS = (
    "unreadable file",   # the file does not exist or is not valid YAML
    "bad override",      # an -o item that is not KEY=VALUE
    "unknown key",       # a key the schema (or the builder's signature) does not have
    "wrong type",        # a value of the wrong type
    "missing key",       # a required key is absent
    "bad value",         # right type, unusable value (conflict, empty list, ...)
    "unknown name",      # a name no registry knows (raised as UnknownNameError)
)

_MISSING = object()


def _error(source, path, problem, text, cls=ConfigError):
    """Build the error (``cls``) for ``problem`` at ``path`` of ``source``, message ``text``."""
    where = f"{source}: {path}: " if path else f"{source}: "
    exc = cls(where + text)
    exc.source, exc.key_path, exc.problem = source, path, problem
    return exc


def _closest(key, valid):
    valid = sorted(str(v) for v in valid)
    match = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.0)
    return match[0] if match else None


def _unknown_key(source, path, key, valid):
    closest = _closest(key, valid)
    hint = f" Closest valid key: '{closest}'." if closest else ""
    return _error(source, path, "unknown key",
                  f"unknown key '{key}'.{hint} Valid keys: {', '.join(sorted(valid)) or '(none)'}")


# ---------------------------------------------------------------------------------- types
class Type:
    """A value type for the schema: ``name`` for messages, ``check(value) -> bool``."""

    def __init__(self, name, check):
        self.name, self.check = name, check


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


INT = Type("an integer", _is_int)
FLOAT = Type("a number", lambda v: _is_int(v) or isinstance(v, float))
BOOL = Type("true or false", lambda v: isinstance(v, bool))
STR = Type("a string", lambda v: isinstance(v, str))
ANY = Type("any value", lambda v: True)
MAPPING = Type("a mapping (key: value)", lambda v: isinstance(v, dict))
LIST = Type("a list", lambda v: isinstance(v, list))
INT_LIST = Type("a list of integers", lambda v: isinstance(v, list) and all(_is_int(x) for x in v))
NUM_LIST = Type("a list of numbers", lambda v: isinstance(v, list) and all(FLOAT.check(x) for x in v))


NUMBERS = Type("a number or a list of numbers", lambda v: FLOAT.check(v) or NUM_LIST.check(v))


def _type_from_default(default):
    """The Type a builder argument must have, judged by its default value (None: any).

    Numbers also accept lists of numbers (``Normalize(mean=0.0)`` takes ``[0.5, 0.5, 0.5]``).
    """
    if isinstance(default, bool):
        return BOOL
    if FLOAT.check(default):
        return NUMBERS
    if isinstance(default, str):
        return STR
    if isinstance(default, (list, tuple)):
        return LIST
    return ANY


def _describe(value):
    return f"{type(value).__name__} {value!r}"


def _check_type(source, path, value, typ, nullable=False):
    if value is None and nullable:
        return
    if not typ.check(value):
        null = " or null" if nullable else ""
        raise _error(source, path, "wrong type", f"expected {typ.name}{null}, got {_describe(value)}")


# --------------------------------------------------------------------------------- schema
class Key:
    """One key of a fixed section: its type, whether it is required, its default.

    Args:
        typ: a :class:`Type`, or a dict of Keys for a nested section, or a callable
            ``validate(source, path, value) -> value`` for a free-form part.
        required: the key must be present.
        default: value filled in when absent (a nested section is filled from its Keys).
        nullable: ``null`` is allowed.
        doc: one line shown in "missing key" errors.
    """

    def __init__(self, typ, required=False, default=None, nullable=False, doc=""):
        self.typ, self.required, self.default, self.nullable, self.doc = typ, required, default, nullable, doc


def validate_section(source, path, value, keys):
    """Validate mapping ``value`` at ``path`` against a dict of :class:`Key`; return it with defaults."""
    _check_type(source, path, value, MAPPING)
    out = {}
    for k in value:
        if k not in keys:
            raise _unknown_key(source, _join(path, k), k, keys)
    for k, spec in keys.items():
        sub = _join(path, k)
        if k not in value:
            if spec.required:
                doc = f" ({spec.doc})" if spec.doc else ""
                raise _error(source, sub, "missing key", f"missing required key '{k}'{doc}. Add it to the config")
            if isinstance(spec.typ, dict):
                out[k] = validate_section(source, sub, {}, spec.typ)
            else:
                out[k] = copy.deepcopy(spec.default)
            continue
        v = value[k]
        if v is None and spec.nullable:
            out[k] = None
        elif isinstance(spec.typ, dict):
            out[k] = validate_section(source, sub, v, spec.typ)
        elif isinstance(spec.typ, Type):
            _check_type(source, sub, v, spec.typ, spec.nullable)
            out[k] = v
        else:
            out[k] = spec.typ(source, sub, v)
    return out


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _signature_params(builder):
    """{name: inspect.Parameter} of a builder's keyword arguments (class: its __init__)."""
    target = builder.__init__ if inspect.isclass(builder) else builder
    params = list(inspect.signature(target).parameters.values())
    if inspect.isclass(builder):
        params = params[1:]  # self
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p for p in params if p.kind in kinds}


def validate_kwargs(source, path, kwargs, builder, reserved=(), exclude=()):
    """Check ``kwargs`` against ``builder``'s signature: unknown names, missing required, types.

    Args:
        reserved: extra keys the caller consumes itself (e.g. ``name``, ``transform_ops``).
        exclude: builder arguments the caller supplies itself (e.g. ``parameters``).
    """
    _check_type(source, path, kwargs, MAPPING)
    params = {n: p for n, p in _signature_params(builder).items() if n not in exclude}
    target = builder.__init__ if inspect.isclass(builder) else builder
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(target).parameters.values())
    valid = set(params) | set(reserved)
    for k, v in kwargs.items():
        if k in reserved or (k not in params and open_ended):  # **kwargs: the builder checks the rest
            continue
        if k not in params:
            raise _unknown_key(source, _join(path, k), k, valid)
        default = params[k].default
        if default is not inspect.Parameter.empty and v is not None:
            _check_type(source, _join(path, k), v, _type_from_default(default))
    for n, p in params.items():
        if p.default is inspect.Parameter.empty and n not in kwargs:
            raise _error(source, _join(path, n), "missing key",
                         f"missing required key '{n}' (an argument of {getattr(builder, '__name__', builder)})")
    return kwargs


def resolve_name(source, path, registry, name):
    """``registry.get(name)``, re-raised as UnknownNameError naming ``source`` and ``path``."""
    _check_type(source, path, name, STR)
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        raise _error(source, path, "unknown name", str(exc), cls=UnknownNameError) from None


def named_entry(source, path, entry):
    """Split a one-key mapping ``{Name: {kwargs}}`` (or a bare ``Name``) into ``(name, kwargs)``."""
    if isinstance(entry, str):
        return entry, {}
    if not isinstance(entry, dict) or len(entry) != 1:
        raise _error(source, path, "wrong type",
                     f"expected a one-key mapping like 'Name: {{arg: value}}', got {_describe(entry)}")
    (name, kwargs), = entry.items()
    kwargs = {} if kwargs is None else kwargs
    _check_type(source, _join(path, name), kwargs, MAPPING)
    return name, kwargs


def named_list(registry, reserved=(), exclude=(), required=True):
    """Validator of a list of ``{Name: {kwargs}}`` entries resolved through ``registry``."""

    def validate(source, path, value):
        _check_type(source, path, value, LIST)
        if required and not value:
            raise _error(source, path, "bad value", "the list is empty; give at least one entry")
        out = []
        for i, entry in enumerate(value):
            name, kwargs = named_entry(source, f"{path}[{i}]", entry)
            builder = resolve_name(source, f"{path}[{i}]", registry, name)
            validate_kwargs(source, f"{path}[{i}].{name}", kwargs, builder, reserved, exclude)
            out.append({name: kwargs})
        return out

    return validate


def named_mapping(registry, reserved=(), exclude=(), extra=None):
    """Validator of ``{name: Name, **kwargs}`` resolved through ``registry``.

    ``extra`` maps reserved keys to validators ``f(source, path, value) -> value``.
    """
    extra = extra or {}

    def validate(source, path, value):
        _check_type(source, path, value, MAPPING)
        if "name" not in value:
            raise _error(source, _join(path, "name"), "missing key",
                         f"missing required key 'name' (one of: {', '.join(registry.names())})")
        builder = resolve_name(source, _join(path, "name"), registry, value["name"])
        value = dict(value)
        validate_kwargs(source, path, value, builder, set(reserved) | {"name"} | set(extra), exclude)
        for k, check in extra.items():
            if k in value:
                value[k] = check(source, _join(path, k), value[k])
        return value

    return validate


# ----------------------------------------------------------------------- the schema itself
def _arch(source, path, value):
    from .registry import MODELS

    _check_type(source, path, value, MAPPING)
    value = dict(value)
    if "class_num" in value:  # PaddleClas's spelling
        num = value.pop("class_num")
        if "num_classes" in value and value["num_classes"] != num:
            raise _error(source, _join(path, "class_num"), "bad value",
                         f"class_num={num!r} conflicts with num_classes={value['num_classes']!r}; keep one")
        value["num_classes"] = num
    return named_mapping(MODELS, extra={"refocus": _refocus})(source, path, value)


def _refocus(source, path, value):
    """``Arch.refocus``: ``true`` or ``{min_kernel, map_k, only_transforms}`` (paddle_conv.refconv.refocus)."""
    if value is None or value is False:
        return None
    return validate_section(source, path, {} if value is True else value, {
        "min_kernel": Key(INT, default=3, doc="smallest kernel refocused (1x1 convs stay plain)"),
        "map_k": Key(INT, default=3, doc="kernel size of the refocusing transform"),
        "only_transforms": Key(BOOL, default=True, doc="freeze every parameter but the transforms"),
    })


def _regularizer(source, path, value):
    section = validate_section(source, path, value, {
        "name": Key(STR, required=True, doc="L2 or L1"),
        "coeff": Key(FLOAT, required=True, doc="decay coefficient, e.g. 0.0001"),
    })
    if section["name"] not in ("L1", "L2"):
        raise _error(source, _join(path, "name"), "bad value",
                     f"regularizer must be 'L1' or 'L2', got {section['name']!r}")
    return section


def _optimizer(source, path, value):
    from .optim import LR_SCHEDULERS, OPTIMIZERS

    lr = named_mapping(LR_SCHEDULERS, exclude=("step_each_epoch", "epochs"))
    reg = Key(_regularizer, nullable=True)
    check = named_mapping(OPTIMIZERS, exclude=("parameters", "learning_rate", "weight_decay"),
                          extra={"lr": lr, "regularizer": reg.typ})
    if isinstance(value, dict) and "lr" not in value:
        raise _error(source, _join(path, "lr"), "missing key",
                     "missing required key 'lr' (e.g. {name: Constant, learning_rate: 0.001})")
    if isinstance(value, dict) and value.get("regularizer") is None:
        value = {k: v for k, v in value.items() if k != "regularizer"}
    return check(source, path, value)


def _dataset(source, path, value, allow_fallback=True):
    from .data import DATASETS, TRANSFORMS

    extra = {"transform_ops": named_list(TRANSFORMS, required=False)}
    reserved = ("batch_size", "num_workers") if not allow_fallback else ()
    if allow_fallback:
        extra["fallback"] = lambda s, p, v: None if v is None else _dataset(s, p, v, allow_fallback=False)
    out = named_mapping(DATASETS, reserved=reserved, exclude=("transform", "class_num"), extra=extra)(
        source, path, value)
    for key in ("batch_size", "num_workers") if not allow_fallback else ():
        if key in out:
            _check_type(source, _join(path, key), out[key], INT)
    return out


_SAMPLER = {
    "name": Key(STR, default="DistributedBatchSampler"),
    "batch_size": Key(INT, required=True, doc="samples per step and per process"),
    "shuffle": Key(BOOL, default=False),
    "drop_last": Key(BOOL, default=False),
}
_LOADER = {
    "num_workers": Key(INT, default=0),
    "use_shared_memory": Key(BOOL, default=False),
}


def _split(required):
    return {
        "dataset": Key(_dataset, required=True, doc="name: Cifar10 | ImageNetDataset | ImageFolder | Digits"),
        "sampler": Key(_SAMPLER, required=True),
        "loader": Key(_LOADER),
    }


def _sampler_name(source, path, split):
    if split["sampler"]["name"] != "DistributedBatchSampler":
        raise _error(source, _join(path, "sampler.name"), "bad value",
                     f"only DistributedBatchSampler is supported, got {split['sampler']['name']!r}")
    return split


def _split_key(required):
    def validate(source, path, value):
        return _sampler_name(source, path, validate_section(source, path, value, _split(required)))

    return Key(validate, required=required)


def _losses(source, path, value):
    from .losses import LOSSES

    return named_list(LOSSES, reserved=("weight",))(source, path, value)


def _metrics(source, path, value):
    from .engine.metrics import METRICS

    return named_list(METRICS)(source, path, value)


#: The schema of a classification config (PaddleClas's layout).
SCHEMA = {
    "Global": Key({
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
    }, required=True),
    "Arch": Key(_arch, required=True, doc="name: a registered model, plus its builder arguments"),
    "Loss": Key({
        "Train": Key(_losses, required=True),
        "Eval": Key(_losses, nullable=True),
    }, required=True),
    "Optimizer": Key(_optimizer, required=True, doc="name: Momentum | Adam | AdamW, lr: {...}"),
    "DataLoader": Key({
        "Train": _split_key(required=True),
        "Eval": _split_key(required=False),
    }, required=True),
    "Metric": Key({
        "Train": Key(_metrics, nullable=True),
        "Eval": Key(_metrics, nullable=True),
    }),
}


def _check_global(source, cfg):
    g = cfg["Global"]
    for key in ("epochs", "save_interval", "eval_interval", "print_batch_step"):
        if g[key] < 1:
            raise _error(source, f"Global.{key}", "bad value", f"must be >= 1, got {g[key]}")
    if len(g["image_shape"]) != 3:
        raise _error(source, "Global.image_shape", "bad value",
                     f"expected [C, H, W], got {g['image_shape']!r}")
    if not DEVICE_PATTERN.fullmatch(g["device"]):
        raise _error(source, "Global.device", "bad value",
                     f"expected 'auto', 'cpu', 'gpu' or 'gpu:N', got {g['device']!r}")


def validate_config(cfg, source="<config>", schema=None):
    """Validate a config dict against ``schema`` (default :data:`SCHEMA`); return it with defaults."""
    out = validate_section(source, "", cfg, schema or SCHEMA)
    if schema is None:
        _check_global(source, out)
    return out


# ------------------------------------------------------------------------------- YAML
class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (plain data only, no Python objects) that also reads ``1e-3`` as a float
    (YAML 1.1 wants ``1.0e-3``) and rejects a key given twice in one mapping, where ``safe_load``
    would silently keep the last value."""


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable: construct_mapping reports it
            continue
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice in one mapping; "
                                                    "keep one", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

#: What :func:`yaml_load` raises: a syntax or value error, bytes that are not UTF-8, absurdly
#: deep nesting.
YAML_ERRORS = (yaml.YAMLError, UnicodeDecodeError, RecursionError)


def yaml_load(text_or_stream):
    """Parse YAML safely (no Python objects), with ``1e-3`` read as a float, duplicate keys rejected.

    Raises one of :data:`YAML_ERRORS`; a value PyYAML fails to build (``!!int zz``,
    ``!!timestamp`` with no date, ``!!bool maybe``: ValueError, KeyError, ... inside PyYAML)
    is raised as ``yaml.YAMLError``.
    """
    try:
        return yaml.load(text_or_stream, Loader=YamlLoader)  # noqa: S506  (a SafeLoader subclass)
    except YAML_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 -- PyYAML's constructors raise arbitrary errors on bad values
        raise yaml.YAMLError(f"a value cannot be built ({type(exc).__name__}: {exc}); check explicit !!tags "
                             "and the values they mark") from exc


def _yaml_problem(exc):
    if isinstance(exc, UnicodeDecodeError):
        return f"the file is not UTF-8 text ({exc})"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc) if isinstance(exc, yaml.YAMLError) else f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------- overrides
def parse_override(text):
    """Parse ``"Key.sub=value"`` into ``(["Key", "sub"], value)``; the value is read as YAML.

    List items are addressed by index: ``Loss.Train.0.CELoss.epsilon=0.1``.
    """
    source = f"-o {text}"
    if not isinstance(text, str) or "=" not in text:
        raise _error(source, "", "bad override", "expected KEY.PATH=VALUE, e.g. -o Global.epochs=3")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if not all(parts):
        raise _error(source, "", "bad override", f"empty part in key path {key!r}; write e.g. Global.epochs")
    try:
        value = yaml_load(raw) if raw.strip() else None
    except YAML_ERRORS as exc:
        raise _error(source, key, "bad override", f"value {raw!r} is not valid YAML ({_yaml_problem(exc)}); "
                     "quote it or fix it, e.g. -o Global.epochs=3 or -o \"Arch.name='oct_resnet50'\"") from None
    return parts, value


def apply_override(cfg, text):
    """Apply one ``-o`` override to the nested dict ``cfg`` in place (creating mappings as needed)."""
    parts, value = parse_override(text)
    source = f"-o {text}"
    node = cfg
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, source, ".".join(parts[: depth + 1]), create=True)
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, source, ".".join(parts))] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise _error(source, ".".join(parts[:-1]), "bad override",
                     f"{_describe(node)} is not a mapping; cannot set '{last}' in it")
    return cfg


def _index(node, part, source, path):
    if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
        raise _error(source, path, "bad override", f"the list has {len(node)} items; '{part}' is not an index")
    return int(part)


def _child(node, part, source, path, create):
    if isinstance(node, list):
        return node[_index(node, part, source, path)]
    if not isinstance(node, dict):
        raise _error(source, path, "bad override", f"parent is {_describe(node)}, not a mapping")
    if node.get(part) is None and create:
        node[part] = {}
    return node[part]


# ----------------------------------------------------------------------------------- loading
def read_yaml(path):
    """Read a YAML mapping from ``path``; ConfigError naming the file on any problem."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise _error(path, "", "unreadable file", "config file does not exist; check the -c argument")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml_load(f)
    except OSError as exc:
        raise _error(path, "", "unreadable file",
                     f"cannot read the config file ({exc}); check its permissions") from None
    except YAML_ERRORS as exc:
        raise _error(path, "", "unreadable file",
                     f"invalid YAML: {_yaml_problem(exc)}. Fix the file at the position shown") from None
    if not isinstance(data, dict):
        raise _error(path, "", "wrong type", f"expected a mapping of sections ({', '.join(SCHEMA)}), "
                     f"got {_describe(data)}; start from a file in configs/")
    return data


def load_config(path, overrides=(), schema=None):
    """Load ``path``, apply ``overrides`` (``["Global.epochs=3", ...]``) in order, validate.

    Returns the config as nested dicts/lists with every default filled in. Errors name the
    file, the key path and the closest valid key; an error in a key set by ``-o`` says so.
    """
    cfg = read_yaml(path)
    for text in overrides or ():
        apply_override(cfg, text)
    source = os.fspath(path)
    if overrides:
        source += f" (with -o {' -o '.join(overrides)})"
    return validate_config(cfg, source, schema)


def dump_config(cfg):
    """The config as YAML text (for logs and for ``output_dir/config.yaml``)."""
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)
