"""References are independent descriptions: nothing under weights_bridge/references imports the
Paddle models (issue 15 item 4), so a wrong table in a Paddle model cannot pass parity."""

import ast
import pathlib

REFERENCES = pathlib.Path(__file__).resolve().parents[2] / "weights_bridge" / "references"


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_no_reference_imports_paddle_or_paddle_conv_models():
    bad = [f"{path.name}: {name}" for path in sorted(REFERENCES.glob("*.py")) for name in _imports(path)
           if name.split(".")[0] == "paddle" or name.startswith("paddle_conv.models")]
    assert not bad, bad
    assert len(list(REFERENCES.glob("*.py"))) >= 8
