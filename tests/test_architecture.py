"""The layer rules of the package, read from the source (every import, also inside functions).

Data flows one way: ``config -> build -> engine``; ``deploy`` and ``tools`` use ``build``, not the
engine, except to train; the building blocks (``layers``) know no model and no trainer; the torch
references of ``weights_bridge`` describe the upstream models on their own.
"""

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _module_name(path, root):
    rel = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
    return rel[: -len(".__init__")] if rel.endswith(".__init__") else rel


def imports_of(path, root=ROOT):
    """Absolute names of every module ``path`` imports (``from . import x`` gives ``package.x``)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    package = _module_name(path, root)
    if not path.endswith("__init__.py"):
        package = package.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def python_files(target):
    """``target`` (a ``.py`` file) or every ``.py`` file under it (a folder)."""
    if target.endswith(".py"):
        yield target
    for dirpath, _, files in os.walk(target):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(dirpath, name)


def violations(target, forbidden, allowed_files=(), root=ROOT):
    """``["file: module", ...]`` of imports in ``target`` (file or folder, relative to ``root``) of a
    module in (or under) ``forbidden``; files in ``allowed_files`` are exempt."""
    found = []
    for path in python_files(os.path.join(root, target)):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        if rel in allowed_files:
            continue
        for name in sorted(imports_of(path, root)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{rel}: {name}")
    return found


#: (folder, modules it must not import, files allowed to, why)
RULES = [
    ("paddle_conv/config", ["paddle_conv.engine", "paddle_conv.build", "paddle_conv.deploy"],
     (), "configs are validated before anything is built"),
    ("paddle_conv/deploy", ["paddle_conv.engine"], (), "deployment builds through paddle_conv.build"),
    ("paddle_conv/layers", ["paddle_conv.models", "paddle_conv.engine", "paddle_conv.build", "paddle_conv.config"],
     (), "building blocks know no model and no trainer"),
    ("paddle_conv/models", ["paddle_conv.engine", "paddle_conv.build", "paddle_conv.config", "paddle_conv.deploy"],
     (), "models are built by paddle_conv.build, never the other way"),
    ("paddle_conv/data", ["paddle_conv.engine", "paddle_conv.build", "paddle_conv.config"], (), "data sets are leaves"),
    ("paddle_conv/losses", ["paddle_conv.engine", "paddle_conv.build", "paddle_conv.config"], (), "losses are leaves"),
    ("paddle_conv/optim", ["paddle_conv.engine", "paddle_conv.build", "paddle_conv.config"], (), "optimizers too"),
    ("paddle_conv/det", ["paddle_conv.engine", "paddle_conv.build", "paddle_conv.models"], (), "box utilities"),
    ("tools", ["paddle_conv.engine"],
     ("tools/train.py", "tools/train_det.py", "tools/eval.py", "tools/eval_det.py"),
     "tools use the engine only to train (and evaluate what it trained)"),
]


@pytest.mark.parametrize("folder, forbidden, allowed, why", RULES, ids=[r[0] for r in RULES])
def test_layer_rule(folder, forbidden, allowed, why):
    assert violations(folder, forbidden, allowed) == [], why


@pytest.mark.parametrize("module", ["build", "metrics", "registry", "cards", "console"])
def test_the_layers_below_the_engine_do_not_reach_up(module):
    assert violations(f"paddle_conv/{module}.py", ["paddle_conv.engine", "paddle_conv.deploy"]) == []


def test_references_stand_alone():
    """The torch references carry their own tables: parity then compares two independent descriptions."""
    assert violations("weights_bridge/references", ["paddle_conv.models"]) == []


def test_the_checker_sees_relative_and_function_level_imports(tmp_path):
    pkg = tmp_path / "paddle_conv" / "deploy"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from . import x\nfrom .. import engine\n")
    (pkg / "x.py").write_text("import os\n\n\ndef f():\n    from ..engine.trainer import train\n    return train\n")
    assert violations("paddle_conv/deploy", ["paddle_conv.engine"], root=str(tmp_path)) == [
        "paddle_conv/deploy/__init__.py: paddle_conv.engine",
        "paddle_conv/deploy/x.py: paddle_conv.engine.trainer",
        "paddle_conv/deploy/x.py: paddle_conv.engine.trainer.train",
    ]
    assert violations("paddle_conv/deploy", ["paddle_conv.engine"], ("paddle_conv/deploy/x.py",),
                      root=str(tmp_path)) == ["paddle_conv/deploy/__init__.py: paddle_conv.engine"]
