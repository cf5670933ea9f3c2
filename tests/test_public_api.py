"""docs/api.md is the one list of the public API: every name there imports, every ``paddle_conv.*``
name of the README and docs is there, and every tool takes exactly the flags listed for it."""

import contextlib
import importlib
import io
import os
import re

import pytest

import paddle_conv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API = "docs/api.md"
DOCS = ["README.md", "SECURITY.md"] + sorted(f"docs/{f}" for f in os.listdir(os.path.join(ROOT, "docs"))
                                             if f.endswith(".md") and f != "api.md")
FLAG = re.compile(r"(?<![\w./=-])(--?[A-Za-z][\w-]*)")


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def _section(text, title):
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def listed_names():
    """The ``paddle_conv.*`` names of the Python section of docs/api.md."""
    return set(re.findall(r"`(paddle_conv(?:\.\w+)*)`", _section(_read(API), "Python names")))


def listed_flags():
    """``{tool file: {flags}}`` of the Commands section of docs/api.md."""
    text = re.sub(r"\n  ", " ", _section(_read(API), "Commands"))
    return {tool: set(re.findall(r"`(-[\w-]+)`", flags))
            for tool, flags in re.findall(r"^- `tools/(\w+\.py)`:(.*)$", text, re.M)}


def documented_names(text):
    """The ``paddle_conv.*`` names ``text`` uses: dotted, ``from paddle_conv.x import a, b`` and,
    where it imports ``paddle_conv as pc``, ``pc.name``."""
    names = set(re.findall(r"\bpaddle_conv(?:\.[A-Za-z_]\w*)+", text))
    for module, items in re.findall(r"from (paddle_conv(?:\.\w+)*) import ([\w, ]+)", text):
        names |= {f"{module}.{item.strip()}" for item in items.split(",") if item.strip()}
    if "import paddle_conv as pc" in text:
        names |= {f"paddle_conv.{name}" for name in re.findall(r"\bpc\.([A-Za-z_]\w*)", text)}
    return names


def documented_commands(text):
    """``[(tool file, {flags})]`` of the ``python tools/X.py ...`` commands of ``text``."""
    text = re.sub(r"\s*\\\n\s*", " ", text)
    return [(f"{tool}.py", set(FLAG.findall(args.split(" #", 1)[0])))
            for tool, args in re.findall(r"python tools/(\w+)\.py([^\n`]*)", text)]


def resolve(name):
    """The object ``name`` names: the longest importable module prefix, then attributes."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(name)


def help_flags(tool):
    """The option flags ``tools/<tool>`` prints in its ``--help`` (``-h``/``--help`` aside)."""
    module = importlib.import_module(f"tools.{tool[:-3]}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        module.main(["--help"])
    flags = set()
    for line in out.getvalue().splitlines():
        options = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
        if options:
            flags |= set(FLAG.findall(options.group(1)))
    return flags - {"-h", "--help"}


@pytest.mark.parametrize("name", sorted(listed_names()))
def test_every_listed_name_imports(name):
    resolve(name)


def test_the_package_exports_are_listed():
    assert {f"paddle_conv.{name}" for name in paddle_conv.__all__} <= listed_names()


@pytest.mark.parametrize("doc", DOCS)
def test_every_name_the_docs_use_is_listed(doc):
    assert documented_names(_read(doc)) - listed_names() == set(), f"add them to {API} (or stop using them)"


def test_every_tool_is_listed():
    tools = {f for f in os.listdir(os.path.join(ROOT, "tools")) if f.endswith(".py")} - {"__init__.py", "quiet.py"}
    assert set(listed_flags()) == tools


@pytest.mark.parametrize("tool", sorted(listed_flags()))
def test_each_tool_takes_exactly_the_listed_flags(tool):
    assert help_flags(tool) == listed_flags()[tool]


@pytest.mark.parametrize("doc", DOCS)
def test_the_commands_of_the_docs_use_listed_tools_and_flags(doc):
    listed = listed_flags()
    for tool, flags in documented_commands(_read(doc)):
        assert tool in listed and flags <= listed[tool], (tool, flags - listed.get(tool, set()))


def test_the_readers_of_the_docs():
    text = ("import paddle_conv as pc\npc.create_model('x')\nfrom paddle_conv.layers import A, B\n"
            "see `paddle_conv.io.safe_paddle_load`.\n"
            "```bash\npython tools/train.py -c a.yaml \\\n  -o Global.x=a-b --check  # not --this\n```\n")
    assert documented_names(text) == {"paddle_conv.create_model", "paddle_conv.layers", "paddle_conv.layers.A",
                                      "paddle_conv.layers.B", "paddle_conv.io.safe_paddle_load"}
    assert documented_commands(text) == [("train.py", {"-c", "-o", "--check"})]
    with pytest.raises(AttributeError):
        resolve("paddle_conv.no_such_name")
