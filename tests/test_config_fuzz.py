"""Fuzz the config loader and the ``-o`` parser: random YAML files and random override strings
give a valid config or a PaddleConvError, never another exception (500 examples)."""

import copy
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paddle_conv.config import load_config, parse_override
from paddle_conv.errors import PaddleConvError

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "configs" / "digits_quick.yaml").read_text(encoding="utf-8"))


def _paths(node, prefix=()):
    """Every key path of the nested dict/list ``node`` (list items by index)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        path = prefix + (str(key),)
        yield path
        yield from _paths(child, path)


PATHS = sorted(set(_paths(BASE)))
WORDS = sorted({part for path in PATHS for part in path} | {"0", "-1", "7", "x", "", "fallback", "class_num"})
YAML_SNIPPETS = ["3", "-1", "0", "null", "~", "true", "1e-3", ".nan", ".inf", "[1, 5]", "[]", "{}", "{a: 1}",
                 "'x'", "[", "{", ": :", "- a", "&a [*a]", "!!int zz", "!!int", "!!timestamp", "!!bool maybe",
                 "!!timestamp 2020-99-99", "!!binary zz", "!!map [1]", "!!python/object/apply:os.system ['true']",
                 "Digits", "Cosine", "oct_resnet26", "CELoss", "[[[[[[[[1]]]]]]]]", "{name: Digits}", "a: 1\na: 2",
                 "\t", "\x00", "é"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=8), st.sampled_from(WORDS))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)),
                      max_leaves=6)


@st.composite
def mutated_config(draw):
    """The valid base config with a few keys replaced, deleted or added, as YAML text."""
    cfg = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = cfg
        try:
            for part in path[:-1]:
                parent = parent[int(part)] if isinstance(parent, list) else parent[part]
            key = int(path[-1]) if isinstance(parent, list) else path[-1]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[key] = draw(values)
            elif action == "delete":
                del parent[key]
            elif isinstance(parent, dict):
                parent[draw(st.sampled_from(WORDS))] = draw(values)
        except (KeyError, IndexError, TypeError, ValueError):
            pass  # an earlier mutation removed or replaced that path
    text = yaml.safe_dump(cfg, sort_keys=False)
    if draw(st.booleans()):  # and sometimes a few characters of the text are corrupted
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at + 1:]
    return text


documents = st.one_of(mutated_config(), st.text(max_size=200), st.binary(max_size=100),
                      st.builds("\n".join, st.lists(st.sampled_from(YAML_SNIPPETS), max_size=4)))
overrides = st.one_of(
    st.builds(lambda path, value: ".".join(path) + "=" + value, st.sampled_from(PATHS),
              st.one_of(st.sampled_from(YAML_SNIPPETS), st.text(max_size=10))),
    st.builds(lambda parts, value: ".".join(parts) + "=" + value, st.lists(st.sampled_from(WORDS), max_size=4),
              st.sampled_from(YAML_SNIPPETS)),
    st.text(max_size=30),
)


@settings(max_examples=500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(document=documents, override_list=st.lists(overrides, max_size=3))
def test_loader_and_overrides_raise_only_paddle_conv_errors(document, override_list):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "config.yaml")
        with open(path, "wb") as f:
            f.write(document if isinstance(document, bytes) else document.encode("utf-8", "surrogatepass"))
        for text in override_list:
            try:
                parse_override(text)
            except PaddleConvError as exc:
                assert str(exc), "an error without a message"
        try:
            cfg = load_config(path, override_list)
        except PaddleConvError as exc:
            assert str(exc), "an error without a message"
        else:
            assert isinstance(cfg, dict) and set(cfg) >= {"Global", "Arch", "Loss", "Optimizer", "DataLoader"}


def test_the_unmutated_base_config_loads():
    """Guards the fuzz test itself: the base it mutates is valid, so mutations reach deep checks."""
    assert load_config(ROOT / "configs" / "digits_quick.yaml")["Arch"]["name"] == BASE["Arch"]["name"]
