"""From a config file to a validated config: the one path training and ``--check`` take."""

import os
from typing import Any, Dict, Optional, Sequence, Union

from .classification import SCHEMA
from .global_keys import move_global_class_num
from .legacy import is_legacy, translate_legacy
from .schema import check_finite, validate_section
from .values import check_values
from .yaml_io import apply_override, override_source, read_yaml


def read_config(path: Union[str, "os.PathLike[str]"], overrides: Sequence[str] = (),
                schema: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The raw config of ``path`` (not validated) with ``overrides`` applied in order."""
    cfg = read_yaml(path, sections=schema or SCHEMA)
    if schema is None and is_legacy(cfg):  # PaddleClas's older top-level layout
        cfg = translate_legacy(cfg)
    for text in overrides or ():
        apply_override(cfg, text)
    return cfg


def validate_config(cfg: Dict[str, Any], source: str = "<config>",
                    schema: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Validate ``cfg`` against ``schema`` (default :data:`SCHEMA`, whose values are range-checked too)."""
    schema = schema or SCHEMA
    check_finite(source, "", cfg)
    if schema is SCHEMA:
        move_global_class_num(source, cfg)
    out = validate_section(source, "", cfg, schema)
    if schema is SCHEMA:
        check_values(source, out)
    return out


def load_config(path: Union[str, "os.PathLike[str]"], overrides: Sequence[str] = (),
                schema: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """Load ``path``, apply ``overrides`` (``["Global.epochs=3", ...]``) in order, validate against ``schema``.

    Returns the config with every default filled in; errors name the file (or the ``-o``) and the key.
    """
    cfg = read_config(path, overrides, schema)
    source = os.fspath(path)
    if overrides:
        source += f" (with {override_source(' -o '.join(overrides), 300)})"
    return validate_config(cfg, source, schema)
