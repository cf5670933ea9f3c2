"""paddle_conv.errors: every ConfigError is built by config_error and carries its problem."""

import pytest

from paddle_conv.arch import build_arch
from paddle_conv.config import load_config
from paddle_conv.errors import PROBLEMS, ConfigError, UnknownNameError, config_error

QUICK = "configs/digits_quick.yaml"


def test_config_error_message_and_attributes_with_and_without_a_source():
    exc = config_error("a.yaml", "Global.epochs", "bad value", "must be >= 1, got 0")
    assert str(exc) == "a.yaml: Global.epochs: must be >= 1, got 0"
    assert (exc.source, exc.key_path, exc.problem, exc.text) == ("a.yaml", "Global.epochs", "bad value",
                                                                  "must be >= 1, got 0")
    assert str(config_error(None, "Arch.x", "unknown key", "no")) == "Arch.x: no"
    assert str(config_error("a.yaml", None, "unreadable file", "missing")) == "a.yaml: missing"
    name = config_error("a.yaml", "Arch.name", "unknown name", "no model 'x'", cls=UnknownNameError)
    assert isinstance(name, UnknownNameError) and str(name) == "a.yaml: Arch.name: no model 'x'"


def test_value_errors_carry_the_problem_the_schema_errors_carry():
    with pytest.raises(ConfigError) as err:  # config/values.py: a value the schema's type accepts
        load_config(QUICK, ["Global.seed=-1"])
    assert (err.value.key_path, err.value.problem) == ("Global.seed", "bad value")
    assert err.value.source.startswith(QUICK) and str(err.value).endswith("Global.seed: " + err.value.text)


def test_arch_errors_carry_their_key_and_problem_from_python_and_from_a_config():
    with pytest.raises(ConfigError) as err:
        build_arch({"name": "tiny_cnn", "num_classes": 3, "drop_path_rate": 0.1})
    assert (err.value.source, err.value.key_path, err.value.problem) == (None, "Arch.drop_path_rate", "bad value")
    assert str(err.value) == "Arch.drop_path_rate: " + err.value.text
    with pytest.raises(ConfigError) as err:
        load_config(QUICK, ["Arch.drop_path_rate=0.1"])  # oct_mobilenet: no residual blocks
    assert (err.value.key_path, err.value.problem) == ("Arch.drop_path_rate", "bad value")
    assert err.value.source.startswith(QUICK)


def test_a_config_error_raised_directly_has_a_problem_too():
    assert ConfigError("Global.x: no").problem == "bad value" in PROBLEMS
