"""PaddleClas-style YAML configs: load, apply ``-o`` overrides, validate.

A classification config has the sections ``Global``, ``Arch``, ``Loss``, ``Optimizer``,
``DataLoader`` and ``Metric`` (see ``configs/oct_mobilenet.yaml``); a detection-distillation
config has its own (:data:`DET_SCHEMA`). :func:`load_config` reads the file, applies
``-o Key.sub=value`` overrides (values parsed as YAML: ``3``, ``1e-3``, ``null``, ``[1, 5]``),
fills defaults and validates every key, so a typo stops the run before any work is done::

    cfg = load_config("configs/oct_mobilenet.yaml", ["Global.epochs=3", "Arch.alpha=0.25"])
    det = load_config("configs/ssd_kd_shapes.yaml", schema=DET_SCHEMA)

The package: :mod:`.schema` (the generic engine: keys, types, defaults, errors naming the
closest key), :mod:`.classification` and :mod:`.det_schema` (the schemas), :mod:`.yaml_io`
(safe YAML, overrides, files).
"""

import os
from typing import Any, Dict, Optional, Sequence, Union

from ..errors import PROBLEMS, config_error
from .classification import SCHEMA
from .det_schema import DET_SCHEMA, STAGES, is_detection_config
from .legacy import is_legacy, translate_legacy
from .schema import (
    ANY,
    BOOL,
    FLOAT,
    INT,
    INT_LIST,
    LIST,
    MAPPING,
    NUM_LIST,
    NUMBERS,
    STR,
    Key,
    Type,
    check_finite,
    named_entry,
    named_list,
    named_mapping,
    resolve_name,
    validate_kwargs,
    validate_section,
)
from .values import check_values
from .yaml_io import (
    YAML_ERRORS,
    YamlLoader,
    apply_override,
    dump_config,
    override_source,
    parse_override,
    read_yaml,
    yaml_load,
)


def validate_config(cfg: Dict[str, Any], source: str = "<config>",
                    schema: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Validate a config dict against ``schema`` (default :data:`SCHEMA`); return it with defaults.

    No number anywhere may be NaN or infinite (:func:`.schema.check_finite`); a classification
    config's values are also checked for range (:func:`.values.check_values`).
    """
    check_finite(source, "", cfg)
    out = validate_section(source, "", cfg, schema or SCHEMA)
    if (schema or SCHEMA) is SCHEMA:
        check_values(source, out)
    return out


def load_config(path: Union[str, "os.PathLike[str]"], overrides: Sequence[str] = (),
                schema: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Load ``path``, apply ``overrides`` (``["Global.epochs=3", ...]``) in order, validate
    against ``schema`` (default: the classification :data:`SCHEMA`).

    Returns the config as nested dicts/lists with every default filled in. Errors name the
    file, the key path and the closest valid key; an error in a key set by ``-o`` says so.
    """
    cfg = read_yaml(path, sections=schema or SCHEMA)
    if schema is None and is_legacy(cfg):  # PaddleClas's older top-level layout
        cfg = translate_legacy(cfg)
    for text in overrides or ():
        apply_override(cfg, text)
    source = os.fspath(path)
    if overrides:
        source += f" (with {override_source(' -o '.join(overrides), 300)})"
    return validate_config(cfg, source, schema)


__all__ = [
    "ANY", "BOOL", "DET_SCHEMA", "FLOAT", "INT", "INT_LIST", "LIST", "MAPPING", "NUMBERS", "NUM_LIST", "PROBLEMS",
    "SCHEMA", "STAGES", "STR", "YAML_ERRORS", "Key", "Type", "YamlLoader", "apply_override", "config_error",
    "dump_config", "is_detection_config", "load_config", "named_entry", "named_list", "named_mapping", "parse_override",
    "read_yaml", "resolve_name", "validate_config", "validate_kwargs", "validate_section", "yaml_load",
]
