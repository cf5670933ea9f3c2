"""PaddleClas-style YAML configs: load, apply ``-o Key.sub=value`` overrides, validate (docs/training-and-configs.md).

    cfg = load_config("configs/oct_mobilenet.yaml", ["Global.epochs=3", "Arch.alpha=0.25"])
"""

from ..errors import config_error
from .classification import SCHEMA
from .det_schema import DET_SCHEMA, STAGES, is_detection_config
from .load import load_config, read_config, validate_config
from .schema import Key
from .yaml_io import apply_override, dump_config, parse_override, read_yaml

__all__ = ["DET_SCHEMA", "SCHEMA", "STAGES", "Key", "apply_override", "config_error", "dump_config",
           "is_detection_config", "load_config", "parse_override", "read_config", "read_yaml", "validate_config"]
