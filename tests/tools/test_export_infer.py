"""tools/export.py (Paddle Inference + ONNX) and tools/infer.py on the digits_quick config."""

import json
import os

import numpy as np
import paddle
import pytest
from PIL import Image

import paddle_conv as pc
from paddle_conv.config import load_config
from paddle_conv.deploy.classify import eval_transform, load_image, softmax
from paddle_conv.deploy.onnx import onnx_available
from tests.deploy.randomized import randomize_batchnorm
from tools import export as export_tool
from tools import infer as infer_tool

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "digits_quick.yaml")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A trained-looking oct_mobilenet (random weights, non-trivial BN) saved, then exported."""
    root = tmp_path_factory.mktemp("export")
    paddle.seed(0)
    model = pc.create_model("oct_mobilenet", num_classes=10, alpha=0.5)
    randomize_batchnorm(model)
    model.eval()
    paddle.save(model.state_dict(), str(root / "trained.pdparams"))
    overrides = [f"Global.pretrained_model={root / 'trained'}", f"Global.save_inference_dir={root / 'inference'}"]
    args = ["-c", CONFIG] + [a for o in overrides for a in ("-o", o)]
    onnx = onnx_available()[0]
    assert export_tool.main(args + (["--onnx"] if onnx else [])) == 0
    return {"root": root, "model": model, "overrides": overrides, "onnx": onnx}


def test_export_writes_the_inference_files_and_checks_them(exported, capsys):
    inference = exported["root"] / "inference"
    assert (inference / "inference.pdiparams").is_file()
    assert (inference / "inference.json").is_file() or (inference / "inference.pdmodel").is_file()
    assert (inference / "inference.onnx").is_file() == exported["onnx"]


def test_export_refuses_missing_or_foreign_weights(tmp_path, capsys):
    assert export_tool.main(["-c", CONFIG]) == 2
    assert "export needs trained weights" in capsys.readouterr().err
    paddle.save(pc.create_model("tiny_cnn", num_classes=10).state_dict(), str(tmp_path / "other.pdparams"))
    assert export_tool.main(["-c", CONFIG, "-o", f"Global.pretrained_model={tmp_path / 'other'}"]) == 2
    assert "does not match oct_mobilenet" in capsys.readouterr().err


def _images(folder):
    os.makedirs(folder)
    rng = np.random.default_rng(3)
    for i, size in enumerate([(16, 16), (40, 23), (9, 31)]):  # any size: resized as at evaluation
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(os.path.join(folder, f"{i}.png"))
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def test_infer_prints_topk_equal_to_dygraph(exported, tmp_path, capsys):
    paths = _images(str(tmp_path / "images"))
    (tmp_path / "names.txt").write_text("\n".join(f"digit {i}" for i in range(10)))
    argv = ["-c", CONFIG, "-o", exported["overrides"][1], "--input", str(tmp_path / "images"), "--topk", "3",
            "--json", "--class_names", str(tmp_path / "names.txt"), "--threads", "1"]
    assert infer_tool.main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in rows] == paths

    transform = eval_transform(load_config(CONFIG))
    batch = np.stack([load_image(p, transform) for p in paths])
    assert batch.shape == (3, 3, 16, 16)
    probs = softmax(exported["model"](paddle.to_tensor(batch)).numpy().astype(np.float64))
    assert probs.max() - probs.min() > 0.05  # the scores differ: a real comparison
    for row, p in zip(rows, probs):
        want = np.argsort(-p, kind="stable")[:3]
        assert row["class_ids"] == want.tolist()
        assert row["labels"] == [f"digit {i}" for i in want]
        np.testing.assert_allclose(row["scores"], p[want], rtol=0, atol=1e-5)


def test_infer_errors_name_the_problem(exported, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"not an image")
    argv = ["-c", CONFIG, "-o", exported["overrides"][1], "--input"]
    assert infer_tool.main(argv + [str(tmp_path / "broken.png")]) == 2
    assert "broken.png: cannot read the image" in capsys.readouterr().err
    assert infer_tool.main(argv + [str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert infer_tool.main(["-c", CONFIG, "--model_dir", str(tmp_path), "--input", str(tmp_path)]) == 2
    assert "run tools/export.py first" in capsys.readouterr().err
