"""The schema engine of configs: a schema is a dict of :class:`Key`; every problem is a ConfigError
``<file>: <Key.path>: <problem>. <fix>`` built by :func:`~paddle_conv.errors.config_error`."""

import copy
import difflib
import inspect
import math
from collections import namedtuple

from ..errors import UnknownNameError, abbreviate, config_error, key_text


def unknown_key_error(source, path, key, valid):
    """The "unknown key" error for ``key`` at ``path``: names the closest of ``valid`` and lists them."""
    closest = difflib.get_close_matches(str(key), sorted(str(v) for v in valid), n=1, cutoff=0.0)
    hint = f" Closest valid key: '{closest[0]}'." if closest else ""
    shown = key_text(key, quote="'")
    return config_error(source, path, "unknown key",
                        f"unknown key {shown}.{hint} Valid keys: {', '.join(sorted(valid)) or '(none)'}")


def check_finite(source, path, value):
    """Raise the "bad value" error at the first NaN or infinite float anywhere in ``value``."""
    seen, stack = set(), [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise config_error(source, where, "bad value",
                               f"must be a finite number, got {item}; NaN and infinity are never valid "
                               "config values: write a number")
        if isinstance(item, (dict, list)) and id(item) not in seen:
            seen.add(id(item))
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((join_key(where, k), v) for k, v in reversed(list(pairs)))


#: A value type for the schema: ``name`` for messages, ``check(value) -> bool``.
Type = namedtuple("Type", "name check")


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


def type_from_default(default):
    """The Type a builder argument must have, judged by its default (a number also takes a list of numbers)."""
    if isinstance(default, bool):
        return BOOL
    if FLOAT.check(default):
        return NUMBERS
    if isinstance(default, str):
        return STR
    if isinstance(default, (list, tuple)):
        return LIST
    return ANY


def describe(value):
    """``value`` with its type for messages: ``int 3``, ``str 'x'``."""
    return f"{type(value).__name__} {abbreviate(value)}"


def check_type(source, path, value, typ, nullable=False):
    """Raise the "wrong type" error unless ``value`` is a ``typ`` (or None when ``nullable``)."""
    if value is None and nullable:
        return
    if not typ.check(value):
        null = " or null" if nullable else ""
        raise config_error(source, path, "wrong type", f"expected {typ.name}{null}, got {describe(value)}")


#: One key of a section: ``typ`` (a :class:`Type`, a dict of Keys or a validator), ``default`` (filled in when
#: absent; a nested section is filled from its Keys), ``doc`` (shown in "missing key" errors).
Key = namedtuple("Key", "typ required default nullable doc", defaults=(False, None, False, ""))


def validate_section(source, path, value, keys):
    """Validate mapping ``value`` at ``path`` against a dict of :class:`Key`; return it with defaults."""
    check_type(source, path, value, MAPPING)
    out = {}
    for k in value:
        if k not in keys:
            raise unknown_key_error(source, join_key(path, k), k, keys)
    for k, spec in keys.items():
        sub = join_key(path, k)
        if k not in value:
            if spec.required:
                doc = f" ({spec.doc})" if spec.doc else ""
                raise config_error(source, sub, "missing key", f"missing required key '{k}'{doc}. Add it to the config")
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
            check_type(source, sub, v, spec.typ, spec.nullable)
            out[k] = v
        else:
            out[k] = spec.typ(source, sub, v)
    return out


def join_key(path, key):
    """``"Global"`` + ``"epochs"`` -> ``"Global.epochs"`` (``key`` alone at the top)."""
    return f"{path}.{key_text(key)}" if path else key_text(key)


def validate_kwargs(source, path, kwargs, builder, reserved=(), exclude=()):
    """Check ``kwargs`` against ``builder``'s signature (``reserved``: the caller's keys; ``exclude``: its args)."""
    check_type(source, path, kwargs, MAPPING)
    signature = list(inspect.signature(builder.__init__ if inspect.isclass(builder) else builder).parameters.values())
    signature = signature[1:] if inspect.isclass(builder) else signature  # a class's self
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = {p.name: p for p in signature if p.kind in kinds and p.name not in exclude}
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature)
    valid = set(params) | set(reserved)
    for k, v in kwargs.items():
        if k in reserved or (k not in params and open_ended):  # **kwargs: the builder checks the rest
            continue
        if k not in params:
            raise unknown_key_error(source, join_key(path, k), k, valid)
        default = params[k].default
        if default is not inspect.Parameter.empty and v is not None:
            check_type(source, join_key(path, k), v, type_from_default(default))
    for n, p in params.items():
        if p.default is inspect.Parameter.empty and n not in kwargs:
            raise config_error(source, join_key(path, n), "missing key",
                               f"missing required key '{n}' (an argument of {getattr(builder, '__name__', builder)})")
    return kwargs


def resolve_name(source, path, registry, name):
    """``registry.get(name)``, re-raised as UnknownNameError naming ``source`` and ``path``."""
    check_type(source, path, name, STR)
    try:
        return registry.get(name)
    except UnknownNameError as exc:
        raise config_error(source, path, "unknown name", str(exc), cls=UnknownNameError) from None


def named_entry(source, path, entry):
    """Split a one-key mapping ``{Name: {kwargs}}`` (or a bare ``Name``) into ``(name, kwargs)``."""
    if isinstance(entry, str):
        return entry, {}
    if not isinstance(entry, dict) or len(entry) != 1:
        raise config_error(source, path, "wrong type",
                           f"expected a one-key mapping like 'Name: {{arg: value}}', got {describe(entry)}")
    (name, kwargs), = entry.items()
    kwargs = {} if kwargs is None else kwargs
    check_type(source, join_key(path, name), kwargs, MAPPING)
    return name, kwargs


def named_list(registry, reserved=(), exclude=(), required=True):
    """Validator of a list of ``{Name: {kwargs}}`` entries resolved through ``registry``."""

    def validate(source, path, value):
        check_type(source, path, value, LIST)
        if required and not value:
            raise config_error(source, path, "bad value", "the list is empty; give at least one entry")
        out = []
        for i, entry in enumerate(value):
            name, kwargs = named_entry(source, f"{path}[{i}]", entry)
            builder = resolve_name(source, f"{path}[{i}]", registry, name)
            validate_kwargs(source, f"{path}[{i}].{name}", kwargs, builder, reserved, exclude)
            out.append({name: kwargs})
        return out

    return validate


def named_mapping(registry, reserved=(), exclude=(), extra=None):
    """Validator of ``{name: Name, **kwargs}`` resolved through ``registry``; ``extra``: validators of other keys."""
    extra = extra or {}

    def validate(source, path, value):
        check_type(source, path, value, MAPPING)
        if "name" not in value:
            raise config_error(source, join_key(path, "name"), "missing key",
                               f"missing required key 'name' (one of: {', '.join(registry.names())})")
        builder = resolve_name(source, join_key(path, "name"), registry, value["name"])
        value = dict(value)
        validate_kwargs(source, path, value, builder, set(reserved) | {"name"} | set(extra), exclude)
        for k, check in extra.items():
            if k in value:
                value[k] = check(source, join_key(path, k), value[k])
        return value

    return validate


