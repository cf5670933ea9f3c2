import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is installed by the [test] extra")
def test_ruff_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


#: The longest a function of the package or the tools may be (``def`` line to last line).
MAX_FUNCTION_LINES = 60


def long_functions(folders=("paddle_conv", "tools"), limit=MAX_FUNCTION_LINES, root=ROOT):
    """``{area: ["file:line name (N lines)", ...]}`` of the functions over ``limit`` lines, by area
    (a subpackage or top-level module of ``paddle_conv``, or ``tools``)."""
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root)
            area = "/".join(rel.parts[:2]) if len(rel.parts) > 2 else str(rel)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(rel))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > limit:
                        found.setdefault(area, []).append(f"{rel}:{node.lineno} {node.name} ({lines} lines)")
    return {area: sorted(names) for area, names in found.items()}


def test_no_function_is_over_60_lines():
    assert long_functions() == {}


def test_the_length_check_sees_methods_and_nested_functions(tmp_path):
    def body(indent, n):
        return "".join(f"{indent}x{i} = {i}\n" for i in range(n))

    (tmp_path / "pkg").mkdir()
    source = ("class A:\n    def f(self):\n" + body(" " * 8, 60)       # 61 lines: too long
              + "def g():\n" + body(" " * 4, 59)                         # 60 lines: fine
              + "def h():\n    def inner():\n" + body(" " * 8, 60))      # both too long
    (tmp_path / "pkg" / "m.py").write_text(source)
    assert long_functions(("pkg",), root=tmp_path) == {"pkg/m.py": ["pkg/m.py:123 h (62 lines)",
                                                                     "pkg/m.py:124 inner (61 lines)",
                                                                     "pkg/m.py:2 f (61 lines)"]}


def reexport_only_modules(folders=("paddle_conv", "tools"), root=ROOT):
    """``{area: [file, ...]}`` of the modules (``__init__.py`` aside) whose body is only imports, a
    docstring and ``__all__``: a shim that gives a name a second home."""
    found = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if path.name == "__init__.py":
                continue
            rel = path.relative_to(root)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(rel))
            if all(isinstance(node, (ast.Import, ast.ImportFrom))
                   or isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                   or isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]
                   for node in tree.body):
                area = "/".join(rel.parts[:2]) if len(rel.parts) > 2 else str(rel)
                found.setdefault(area, []).append(str(rel))
    return found


def test_no_module_only_re_exports():
    found = reexport_only_modules()
    assert found == {}


def test_the_re_export_check_sees_a_shim(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "shim.py").write_text('"""Old home."""\n\nfrom os.path import join\n\n__all__ = ["join"]\n')
    (tmp_path / "pkg" / "real.py").write_text("from os.path import join\n\nSEP = join('a', 'b')\n")
    assert reexport_only_modules(("pkg",), root=tmp_path) == {"pkg/shim.py": ["pkg/shim.py"]}
