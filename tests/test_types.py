"""The public API type-checks (mypy, configured in mypy.ini: registry, cards, configs, build, losses,
export, the weight converters), and the checker really reads our annotations."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mypy(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", os.path.join(ROOT, "mypy.ini"), *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def test_public_modules_type_check():
    done = _mypy()
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_wrong_use_of_the_public_api_is_caught(tmp_path):
    user = tmp_path / "user.py"
    user.write_text("from paddle_conv import list_models, model_card\n\n"
                    "names: int = list_models(task='detection')\n"
                    "size: str = model_card('tiny_cnn').input_size\n")
    done = _mypy(str(user), cwd=ROOT)
    assert done.returncode == 1
    assert 'Incompatible types in assignment (expression has type "list[str]", variable has type "int")' in done.stdout
    assert 'expression has type "tuple[int, int, int]", variable has type "str"' in done.stdout
