"""YAML of configs: a safe loader, ``-o Key.sub=value`` overrides, reading and writing files."""

import io
import os
import re

import yaml

from ..errors import abbreviate
from ..io import read_user_bytes
from .schema import config_error, describe


class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-3`` as a float and rejects a key given twice in one mapping."""


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

#: What :func:`yaml_load` raises: a syntax or value error, bytes that are not UTF-8, absurdly deep nesting.
YAML_ERRORS = (yaml.YAMLError, UnicodeDecodeError, RecursionError)


def yaml_load(text_or_stream):
    """Parse YAML with :class:`YamlLoader`; raises one of :data:`YAML_ERRORS` (a value PyYAML fails to build too)."""
    try:
        return yaml.load(text_or_stream, Loader=YamlLoader)  # noqa: S506  (a SafeLoader subclass)
    except YAML_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 -- PyYAML's constructors raise arbitrary errors on bad values
        raise yaml.YAMLError(f"a value cannot be built ({type(exc).__name__}: {exc}); check explicit !!tags "
                             "and the values they mark") from exc


def yaml_problem(exc):
    """A short description of what :func:`yaml_load` raised, for messages."""
    if isinstance(exc, UnicodeDecodeError):
        return f"the file is not UTF-8 text ({exc})"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return str(exc) if isinstance(exc, yaml.YAMLError) else f"{type(exc).__name__}: {exc}"


#: A key path part with list indices: ``models[1]`` (``Arch.models[1].Student.name``).
_INDEXED = re.compile(r"([^\[\]]+)((?:\[-?\d+\])+)")


def override_source(text, limit=120):
    """``"-o <text>"`` for messages, ``text`` cut to ``limit`` characters (the fix must stay on the line)."""
    text = str(text)
    return f"-o {text if len(text) <= limit else text[:limit] + f'... ({len(text)} characters)'}"


def parse_override(text):
    """Parse ``"Key.sub=value"`` into ``(["Key", "sub"], value)`` (a YAML value); list items by ``.0.`` or ``[0]``."""
    source = override_source(text)
    if not isinstance(text, str) or "=" not in text:
        raise config_error(source, "", "bad override", "expected KEY.PATH=VALUE, e.g. -o Global.epochs=3")
    key, raw = text.split("=", 1)
    parts = []
    for part in key.strip().split("."):
        indexed = _INDEXED.fullmatch(part)
        parts += [indexed.group(1), *re.findall(r"\[(-?\d+)\]", indexed.group(2))] if indexed else [part]
    if not all(parts):
        raise config_error(source, "", "bad override",
                           f"empty part in key path {abbreviate(key)}; write e.g. Global.epochs")
    try:
        value = yaml_load(raw) if raw.strip() else None
    except YAML_ERRORS as exc:
        raise config_error(source, key, "bad override",
                           f"value {abbreviate(raw)} is not valid YAML ({yaml_problem(exc)}); "
                           "quote it or fix it, e.g. -o Global.epochs=3 or -o \"Arch.name='oct_resnet50'\"") from None
    return parts, value


def apply_override(cfg, text):
    """Apply one ``-o`` override to the nested dict ``cfg`` in place (creating mappings as needed)."""
    parts, value = parse_override(text)
    source = override_source(text)
    node = cfg
    for depth, part in enumerate(parts[:-1]):
        node = _child(node, part, source, ".".join(parts[: depth + 1]), create=True)
    last = parts[-1]
    if isinstance(node, list):
        node[_index(node, last, source, ".".join(parts))] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise config_error(source, ".".join(parts[:-1]), "bad override",
                           f"{describe(node)} is not a mapping; cannot set '{last}' in it")
    return cfg


def _index(node, part, source, path):
    if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
        raise config_error(source, path, "bad override", f"the list has {len(node)} items; '{part}' is not an index")
    return int(part)


def _child(node, part, source, path, create):
    if isinstance(node, list):
        return node[_index(node, part, source, path)]
    if not isinstance(node, dict):
        raise config_error(source, path, "bad override", f"parent is {describe(node)}, not a mapping")
    if node.get(part) is None and create:
        node[part] = {}
    return node[part]


def read_yaml(path, sections=()):
    """Read a YAML mapping from ``path`` (``sections``: the top-level keys expected); ConfigError naming the file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise config_error(path, "", "unreadable file", "is a directory, not a config file; give the YAML file "
                                                        "with -c (e.g. configs/oct_mobilenet.yaml)")
    if not os.path.lexists(path):
        raise config_error(path, "", "unreadable file", "config file does not exist; check the -c argument")
    stream = io.BytesIO(read_user_bytes(path, "config", "config file"))
    stream.name = path  # a stream, not a str: PyYAML's messages then name the line, quoting none of it
    try:
        data = yaml_load(io.TextIOWrapper(stream, encoding="utf-8"))
    except YAML_ERRORS as exc:
        raise config_error(path, "", "unreadable file",
                           f"invalid YAML: {yaml_problem(exc)}. Fix the file at the position shown") from None
    if not isinstance(data, dict):
        expected = ", ".join(sections) or "Global, ..."
        raise config_error(path, "", "wrong type", f"expected a mapping of sections ({expected}), "
                           f"got {type(data).__name__} (its text is not shown: it may be no config at all); "
                           "start from a file in configs/")
    return data


def dump_config(cfg):
    """The config as YAML text (for logs and for ``output_dir/config.yaml``)."""
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)
