"""README and docs: the front door stays short, every topic is one link away, and every block
marked runnable runs.

A fenced ``bash`` or ``python`` block is runnable when the line before its fence is
``<!-- runnable -->``; ``<!-- runnable: ARGS -->`` appends ``ARGS`` (the tiny settings of the
test, e.g. ``-o Global.epochs=1``) to each ``python tools/... -c CONFIG`` command of a bash block.
Blocks run in a fresh folder where ``configs/`` and ``tools/`` are the repository's, so what they
write stays there; bash commands run one by one in a subprocess, python blocks in this process
(Paddle is imported once) with a namespace of their own.
"""

import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                              if f.endswith(".md"))
BLOCK = re.compile(r"^<!-- runnable(?::(?P<args>[^>]*))? -->\n```(?P<lang>bash|python)\n(?P<code>.*?)^```",
                   re.M | re.S)


def runnable_blocks(text):
    """``[(language, code, extra args)]`` of the blocks of ``text`` marked runnable."""
    return [(m["lang"], m["code"], (m["args"] or "").strip()) for m in BLOCK.finditer(text)]


def commands(code, extra=""):
    """The commands of a bash block (continuation lines joined, comments dropped), ``extra``
    appended to each ``python tools/...`` command that takes a config."""
    out = []
    for line in re.sub(r"\s*\\\n\s*", " ", code).splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if extra and line.startswith("python tools/") and " -c " in line:
            line = f"{line} {extra}"
        out.append(line)
    return out


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


CASES = [(name, i, lang, code, extra) for name in DOCS
         for i, (lang, code, extra) in enumerate(runnable_blocks(_read(name)))]


def test_readme_is_a_front_door():
    readme = _read("README.md")
    assert len(readme) <= 10_000
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)", readme))
    assert {name for name in DOCS if name != "README.md"} <= linked  # every topic one link away
    for target in linked:
        assert os.path.isfile(os.path.join(ROOT, target)), target
    # CI runs exactly README's set-up commands
    assert '```bash\npip install -e ".[cpu,torch,train,test,onnx]"\n```' in readme
    assert "```bash\npython -m pytest -q\n```" in readme


def test_relative_links_in_docs_resolve():
    for name in DOCS:
        for target in re.findall(r"\]\(([\w./-]+\.(?:md|png))(?:#[\w-]+)?\)", _read(name)):
            assert os.path.isfile(os.path.normpath(os.path.join(ROOT, os.path.dirname(name), target))), (name, target)


def test_the_block_reader():
    text = ("<!-- runnable: -o Global.epochs=1 -->\n```bash\npython tools/train.py -c a.yaml \\\n    -o X=1  # note\n"
            "visualdl --logdir out\n```\n```python\nprint(1)\n```\n<!-- runnable -->\n```python\nprint(2)\n```\n")
    (lang, code, extra), (lang2, code2, _) = runnable_blocks(text)
    assert (lang, lang2, code2) == ("bash", "python", "print(2)\n")
    assert commands(code, extra) == ["python tools/train.py -c a.yaml -o X=1 -o Global.epochs=1",
                                     "visualdl --logdir out"]


@pytest.fixture
def workdir(tmp_path):
    for name in ("configs", "tools"):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("name, index, lang, code, extra", CASES, ids=[f"{c[0]}#{c[1]}" for c in CASES])
def test_runnable_block(name, index, lang, code, extra, workdir, monkeypatch):
    if lang == "python":
        monkeypatch.chdir(workdir)
        exec(compile(code, f"{name} block {index}", "exec"), {"__name__": "__main__"})  # noqa: S102
        return
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for command in commands(code, extra):
        argv = shlex.split(command)
        argv[0] = sys.executable if argv[0] == "python" else argv[0]
        done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{name} block {index}: {' '.join(argv[:4])}...\n{done.stdout[-2000:]}\n" \
                                     f"{done.stderr[-3000:]}"
