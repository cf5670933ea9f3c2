"""tools/export.py on a detection config (one stage's SSDLite, any batch) and tools/infer.py refusing
detectors with a pointer to the detection tools."""

import os

import numpy as np
import paddle
import pytest
import yaml

from paddle_conv.build import build_model
from paddle_conv.config import DET_SCHEMA, load_config
from paddle_conv.deploy import Predictor
from paddle_conv.engine import save_checkpoint
from tests.deploy.randomized import randomize_batchnorm
from tools import export as export_tool
from tools import infer as infer_tool

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "ssd_kd_shapes.yaml")
DIGITS = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "digits_quick.yaml")


def test_export_writes_the_stage_detector_equal_to_dygraph(tmp_path, capsys):
    overrides = ["-o", f"Global.output_dir={tmp_path}", "-o", "Student.Arch.extra_channels=[16]"]
    cfg = load_config(CONFIG, [overrides[1], overrides[3]], schema=DET_SCHEMA)
    paddle.seed(0)
    model = build_model(cfg["Student"]["Arch"])
    randomize_batchnorm(model)
    model.eval()
    save_checkpoint(str(tmp_path / "student_kd" / "best"), model, meta={"epoch": 1})  # as tools/train_det.py does

    assert export_tool.main(["-c", CONFIG, "--stage", "student_kd"] + overrides) == 0
    out = capsys.readouterr().out
    assert "input [None, 3, 64, 64]" in out and "Paddle Inference vs dygraph" in out
    x = np.random.default_rng(0).standard_normal([3, 3, 64, 64]).astype("float32")  # any batch
    got = Predictor(str(tmp_path / "student_kd" / "inference" / "inference"), device="cpu", threads=1)(x)
    want = [t.numpy() for t in model(paddle.to_tensor(x))]
    assert [g.shape for g in got] == [w.shape for w in want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5 * max(1.0, float(np.abs(w).max())))


def test_export_of_a_detector_without_its_checkpoint_names_the_stage(tmp_path, capsys):
    assert export_tool.main(["-c", CONFIG, "--stage", "teacher", "-o", f"Global.output_dir={tmp_path}"]) == 2
    assert os.path.join(str(tmp_path), "teacher", "best") in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["detection config", "classification config with Arch ssd_lite"])
def test_infer_refuses_detectors_and_names_the_tools(kind, tmp_path, capsys):
    config = CONFIG
    if kind != "detection config":
        with open(DIGITS) as f:
            cfg = yaml.safe_load(f)
        cfg["Arch"] = {"name": "ssd_lite", "num_classes": 4, "backbone": "tiny_cnn", "input_size": 64}
        config = tmp_path / "det_arch.yaml"
        config.write_text(yaml.safe_dump(cfg))
    assert infer_tool.main(["-c", str(config), "--input", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "cannot show detections" in err and "tools/eval_det.py" in err and "paddle_conv.det.detect" in err
