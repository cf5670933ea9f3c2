"""The config package's public face: one schema engine under both schemas, public error helper."""

import pytest

from paddle_conv.config import (
    DET_SCHEMA,
    SCHEMA,
    Key,
    classification,
    config_error,
    det_schema,
    load_config,
    schema,
    validate_config,
)
from paddle_conv.errors import ConfigError


def test_config_error_carries_source_path_and_problem():
    exc = config_error("a.yaml", "Global.epochs", "bad value", "must be >= 1, got 0")
    assert isinstance(exc, ConfigError)
    assert str(exc) == "a.yaml: Global.epochs: must be >= 1, got 0"
    assert (exc.source, exc.key_path, exc.problem) == ("a.yaml", "Global.epochs", "bad value")


def test_detection_reuses_the_classification_sections():
    assert DET_SCHEMA["Teacher"].typ["Arch"].typ is classification.validate_arch
    assert DET_SCHEMA["Student"].typ["Optimizer"].typ is classification.validate_optimizer
    assert det_schema.DET_SCHEMA is DET_SCHEMA and classification.SCHEMA is SCHEMA


def test_a_key_added_to_a_section_dict_is_validated(monkeypatch):
    monkeypatch.setitem(classification.GLOBAL, "extra_flag", Key(schema.BOOL, default=False))
    cfg = load_config("configs/digits_quick.yaml")
    assert cfg["Global"]["extra_flag"] is False
    with pytest.raises(ConfigError, match=r"Global.extra_flag: expected true or false"):
        load_config("configs/digits_quick.yaml", ["Global.extra_flag=3"])


def test_the_global_checks_apply_where_the_section_is_validated():
    cfg = load_config("configs/digits_quick.yaml")
    cfg["Global"]["epochs"] = 0
    with pytest.raises(ConfigError, match=r"<config>: Global.epochs: must be >= 1, got 0"):
        validate_config(cfg)


def test_a_file_without_sections_names_the_schema_it_was_read_for(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"expected a mapping of sections \(Global, Teacher, Student,"):
        load_config(path, schema=DET_SCHEMA)
