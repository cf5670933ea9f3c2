"""A model family from one file outside the package (docs/adding-a-family.md's ``my_family.py``, run as it
is written there), loaded with ``$PADDLE_CONV_PLUGINS``: listed, trained from YAML (1 step, with
drop_path_rate), exported, converted both ways and checked for parity by the project's own tools."""

import os
import re
import subprocess
import sys

import numpy as np
import paddle
import pytest
import torch
import yaml

import paddle_conv as pc
from paddle_conv.errors import ConfigError
from paddle_conv.plugins import ENV_VAR, load_plugin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DRIVER = """
import sys
import paddle_conv as pc
from tools import convert_weights, export, parity_report, train
cfg, out = sys.argv[1], sys.argv[2]
print("listed:", pc.list_models("toy_*"), pc.model_card("toy_net").residual_branches[0][1])
assert train.main(["-c", cfg, "-o", f"Global.output_dir={out}"]) == 0
weights = f"{out}/toy_net/latest"
assert export.main(["-c", cfg, "-o", f"Global.pretrained_model={weights}",
                    "-o", f"Global.save_inference_dir={out}/inference"]) == 0
assert convert_weights.main(["--model", "toy_net", "--src", weights + ".pdparams", "--dst", f"{out}/toy.pth"]) == 0
assert convert_weights.main(["--model", "toy_net", "--src", f"{out}/toy.pth", "--dst", f"{out}/back.pdparams",
                             "--check", "--input-size", "16"]) == 0
assert parity_report.main(["--models", "toy_net", "--size", "16"]) == 0
print("all tools ran")
"""


def plugin_source():
    """The ``my_family.py`` of docs/adding-a-family.md (the first python block)."""
    with open(os.path.join(ROOT, "docs", "adding-a-family.md"), encoding="utf-8") as f:
        return re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)


def toy_config(tmp_path):
    with open(os.path.join(ROOT, "configs", "digits_quick.yaml"), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    cfg["Arch"] = {"name": "toy_net", "class_num": 10, "drop_path_rate": 0.1}
    cfg["Global"].update(epochs=1, eval_during_train=False, use_visualdl=False, device="cpu")
    cfg["DataLoader"]["Train"]["dataset"]["max_samples"] = 16
    cfg["DataLoader"]["Train"]["sampler"]["batch_size"] = 16  # one step
    path = tmp_path / "my_config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def test_a_family_in_one_file_is_listed_trained_exported_converted_and_checked(tmp_path):
    (tmp_path / "my_family.py").write_text(plugin_source(), encoding="utf-8")
    env = {**os.environ, ENV_VAR: str(tmp_path / "my_family.py")}
    run = subprocess.run([sys.executable, "-c", DRIVER, str(toy_config(tmp_path)), str(tmp_path / "out")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "listed: ['toy_net'] bn" in run.stdout and "all tools ran" in run.stdout
    assert "toy_net" not in pc.list_models()  # nothing leaks into a process that did not ask for the plugin
    out = tmp_path / "out"
    assert (out / "inference" / "inference.pdiparams").is_file()
    trained = paddle.load(str(out / "toy_net" / "latest.pdparams"))
    torch_state = torch.load(out / "toy.pth", weights_only=True)
    assert {"features.0.weight", "features.1.norm.running_var", "head.weight"} <= set(torch_state)  # renamed
    back = paddle.load(str(out / "back.pdparams"))
    assert set(back) == set(trained)
    for key, value in trained.items():
        np.testing.assert_array_equal(np.asarray(back[key]), np.asarray(value), err_msg=key)


def test_a_broken_plugin_is_one_error_naming_the_file_and_line(tmp_path):
    bad = tmp_path / "broken.py"
    bad.write_text("x = 1\nraise RuntimeError('no such layer')\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"plugin {re.escape(str(bad))} failed at line 2: RuntimeError: no such"):
        load_plugin(str(bad))
    with pytest.raises(ConfigError, match="is not a Python file"):
        load_plugin(str(tmp_path / "missing.py"))
