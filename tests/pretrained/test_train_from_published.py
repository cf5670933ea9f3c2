"""`tools/train.py -c configs/refconv_finetune.yaml -o Arch.pretrained=True`: published weights or a clear stop."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from paddle_conv.build import build_model
from paddle_conv.cli import run_cli
from paddle_conv.engine import train
from paddle_conv.io import safe_paddle_load
from tests.tools.test_refconv_finetune import quick_config
from tools import train as train_tool
from weights_bridge import create_reference


def test_unreachable_weights_stop_before_any_work(tmp_path, offline, capsys):
    out = tmp_path / "out"
    code = run_cli(train_tool.main, ["-c", "configs/refconv_finetune.yaml", "-o", "Arch.pretrained=True",
                                     "-o", f"Global.output_dir={out}"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err
    assert "drive.google.com" in errors[0] and "oct_mobilenet_imagenet_cosine_dli14.pth" in errors[0]
    assert not out.exists(), "no run folder for a run that could not start"
    assert "Cifar10" not in err, "the weights are checked before any data is read or downloaded"


def test_published_weights_are_the_start_of_refocusing(tmp_path, offline, capsys):
    torch.manual_seed(0)
    reference = create_reference("oct_mobilenet")  # d-li14's ImageNet model: 1000 classes
    with pytest.raises(Exception) as info:
        build_model(quick_config(tmp_path, True)["Arch"])
    where = Path(re.search(r"put it at (\S+) ", str(info.value)).group(1))
    where.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, where)

    cfg = quick_config(tmp_path, True)
    network = build_model(cfg["Arch"])  # converted, classifier re-initialised for 10 classes, then refocused
    assert "except the classifier 'fc'" in capsys.readouterr().err
    first_conv = reference.state_dict()["features.0.0.weight"].numpy()
    assert np.array_equal(network.state_dict()["features.0.0.weight"].numpy(), first_conv)
    train(cfg)
    after = safe_paddle_load(str(tmp_path / "out/oct_mobilenet/latest.pdparams"))
    assert np.array_equal(after["features.0.0.weight"].numpy(), first_conv)  # frozen basis = published kernel
