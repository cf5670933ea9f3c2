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


def import_graph(packages=("paddle_conv", "weights_bridge"), root=ROOT):
    """``{module: {modules of packages it imports}}`` (every import, also inside functions); ``from a import b``
    is an edge to ``a.b`` when that is a module, else to ``a``."""
    modules = {_module_name(path, root): path for package in packages
               for path in python_files(os.path.join(root, package))}
    graph = {}
    for module, path in modules.items():
        names = imports_of(path, root)
        graph[module] = {n for n in names if n in modules and n != module
                         and not any(other.startswith(n + ".") and other in names for other in names if other != n
                                     and other in modules and other.rsplit(".", 1)[0] == n)}
    return graph


def import_cycles(graph):
    """The strongly connected components of ``graph`` with more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycles_in_paddle_conv_and_weights_bridge():
    assert import_cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "paddle_conv"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from . import b\n")
    (pkg / "b.py").write_text("def f():\n    from .a import g\n")
    (pkg / "c.py").write_text("from .a import b\n")
    assert import_cycles(import_graph(("paddle_conv",), root=str(tmp_path))) == [["paddle_conv.a", "paddle_conv.b"]]


def test_the_core_never_imports_the_bridge():
    """Converters and references are registered by weights_bridge into paddle_conv.registry; only the
    benchmark's torch paths (clients of both, comparing the frameworks) import it."""
    found = violations("paddle_conv", ["weights_bridge"])
    assert [v for v in found if not v.startswith("paddle_conv/benchmark/")] == []


def _family_names():
    """Registered model names, the classes the family modules define, and the family layers' classes (the
    modules of ``paddle_conv.layers`` whose layers offer a deploy form: OctConv, RefConv, DBB, ...)."""
    import inspect

    import paddle_conv as pc
    from paddle_conv import layers

    family_modules = {pc.registry.MODELS.get(n).__module__ for n in pc.list_models()}
    family_modules |= {obj.__module__ for obj in vars(layers).values() if inspect.isclass(obj)
                       and any(hasattr(obj, method) for method in DEPLOY_FORM_METHODS)}
    family_modules |= {pc.registry.ARCH_TRANSFORMS.get(n).__module__ for n in pc.registry.ARCH_TRANSFORMS.names()}
    classes = {name for module in family_modules for name, obj in vars(__import__(module, fromlist=["_"])).items()
               if inspect.isclass(obj) and obj.__module__ == module}
    return set(pc.list_models()) | classes, family_modules


#: The methods by which a layer offers its inference form (generic code calls them, never names the layer).
DEPLOY_FORM_METHODS = ("reparameterize", "fuse_bn", "export_forms")

#: The modules that must know no family: they read the cards and call the methods layers offer.
GENERIC = ["paddle_conv/deploy", "paddle_conv/fuse.py", "paddle_conv/arch.py", "paddle_conv/config",
           "paddle_conv/engine", "paddle_conv/registry.py", "paddle_conv/factory.py", "paddle_conv/summary.py",
           "paddle_conv/cards.py", "paddle_conv/build.py"]


def named_in_code(path):
    """Identifiers and string constants of ``path``'s code (docstrings left out)."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            names.add(node.value)
    return names


@pytest.mark.parametrize("target", GENERIC)
def test_no_generic_module_names_a_family(target):
    family_names, family_modules = _family_names()
    found = violations(target, sorted(family_modules))
    for path in python_files(os.path.join(ROOT, target)):
        rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        found += [f"{rel}: {name}" for name in sorted(named_in_code(path) & family_names)]
    assert found == [], "generic code reads the model card or calls the method a layer offers"


def test_every_module_basename_is_unique():
    """One name, one module: no two modules of paddle_conv and weights_bridge share a file name (the torch
    references are ``<family>_torch.py``)."""
    seen = {}
    for package in ("paddle_conv", "weights_bridge"):
        for path in python_files(os.path.join(ROOT, package)):
            if not path.endswith("__init__.py"):
                seen.setdefault(os.path.basename(path), []).append(os.path.relpath(path, ROOT))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
