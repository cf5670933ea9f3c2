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
(safe YAML, overrides, files), :mod:`.load` (the one path from a file to a validated config,
which ``--check`` takes too).
"""

from ..errors import PROBLEMS, config_error
from .classification import SCHEMA
from .det_schema import DET_SCHEMA, STAGES, is_detection_config
from .load import load_config, read_config, validate_config
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
    named_entry,
    named_list,
    named_mapping,
    resolve_name,
    validate_kwargs,
    validate_section,
)
from .yaml_io import YAML_ERRORS, YamlLoader, apply_override, dump_config, parse_override, read_yaml, yaml_load

__all__ = [
    "ANY", "BOOL", "DET_SCHEMA", "FLOAT", "INT", "INT_LIST", "LIST", "MAPPING", "NUMBERS", "NUM_LIST", "PROBLEMS",
    "SCHEMA", "STAGES", "STR", "YAML_ERRORS", "Key", "Type", "YamlLoader", "apply_override", "config_error",
    "dump_config", "is_detection_config", "load_config", "named_entry", "named_list", "named_mapping", "parse_override",
    "read_config", "read_yaml", "resolve_name", "validate_config", "validate_kwargs", "validate_section", "yaml_load",
]
