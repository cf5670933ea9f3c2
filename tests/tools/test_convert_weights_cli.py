"""tools/convert_weights.py: both directions, --check, and bad inputs (clear error, no output)."""

import importlib.util
import os

import numpy as np
import paddle
import pytest
import torch

import weights_bridge as wb
from paddle_conv.factory import create_model
from paddle_conv.io import safe_paddle_load
from weights_bridge import parity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("convert_weights", os.path.join(ROOT, "tools", "convert_weights.py"))
cli = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli)


@pytest.fixture(scope="module")
def upstream_pth(tmp_path_factory):
    """An upstream-style training checkpoint: wrapped, DataParallel prefixes, random weights."""
    torch.set_num_threads(1)
    reference = parity.randomize_torch_(wb.create_reference("oct_mobilenet", num_classes=10), seed=3)
    path = tmp_path_factory.mktemp("ckpt") / "oct_mobilenet.pth"
    state = {"module." + k: v for k, v in reference.state_dict().items()}
    torch.save({"epoch": 90, "arch": "oct_mobilenet", "state_dict": state}, path)
    return path, reference


def _run(*argv):
    return cli.main([str(a) for a in argv])


def test_both_directions_and_check(upstream_pth, tmp_path, capsys):
    src, reference = upstream_pth
    pdparams = tmp_path / "oct_mobilenet.pdparams"
    assert _run("--model", "oct_mobilenet", "--src", src, "--dst", pdparams, "--num-classes", 10,
                "--check", "--input-size", 64) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "ok   output: max abs" in out
    model = create_model("oct_mobilenet", num_classes=10)
    missing, unexpected = model.set_state_dict(safe_paddle_load(str(pdparams)))
    assert not missing and not unexpected

    pth = tmp_path / "back.pth"
    assert _run("--model", "oct_mobilenet", "--src", pdparams, "--dst", pth, "--num-classes", 10, "--check",
                "--input-size", 64) == 0
    assert "ok   output: max abs" in capsys.readouterr().out
    loaded = wb.create_reference("oct_mobilenet", num_classes=10)
    loaded.load_state_dict(torch.load(pth, weights_only=True), strict=True)
    for key, value in reference.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(loaded.state_dict()[key], value), key
    assert sorted(os.listdir(tmp_path)) == ["back.pth", "oct_mobilenet.pdparams"]  # no temporary files left


def _fails(tmp_path, capsys, *argv, expect):
    dst = tmp_path / ("out.pdparams" if str(argv[3]).endswith((".pth", ".pt")) else "out.pth")
    assert _run(*argv, "--dst", dst) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expect in err, err
    assert not dst.exists() and os.listdir(tmp_path) == [p for p in os.listdir(tmp_path) if not p.startswith(".")]
    return err


def test_wrong_model_name(upstream_pth, tmp_path, capsys):
    _fails(tmp_path, capsys, "--model", "oct_mobilenett", "--src", upstream_pth[0],
           expect="unknown model 'oct_mobilenett'. Did you mean: oct_mobilenet")


def test_model_without_reference(upstream_pth, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(wb.references.REFERENCES._entries, "oct_mobilenet", None)
    monkeypatch.delitem(wb.references.REFERENCES._entries, "oct_mobilenet")
    _fails(tmp_path, capsys, "--model", "oct_mobilenet", "--src", upstream_pth[0], expect="has no torch reference")


def test_truncated_file(upstream_pth, tmp_path, capsys):
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(upstream_pth[0].read_bytes()[:50000])
    _fails(tmp_path, capsys, "--model", "oct_mobilenet", "--src", truncated, "--num-classes", 10,
           expect="truncated, corrupt")


def test_truncated_pdparams(tmp_path, capsys):
    src = tmp_path / "model.pdparams"
    paddle.save({"fc.weight": paddle.zeros([4, 4])}, str(src))
    src.write_bytes(src.read_bytes()[:40])
    _fails(tmp_path, capsys, "--model", "oct_mobilenet", "--src", src, expect="cannot read")


def test_checkpoint_of_another_model(upstream_pth, tmp_path, capsys):
    err = _fails(tmp_path, capsys, "--model", "oct_resnet26", "--src", upstream_pth[0], "--num-classes", 10,
                 expect="does not fit model 'oct_resnet26'")
    assert "missing keys" in err and "unexpected keys" in err and "pass --model oct_mobilenet" in err


def test_shape_mismatch(upstream_pth, tmp_path, capsys):
    err = _fails(tmp_path, capsys, "--model", "oct_mobilenet", "--src", upstream_pth[0],
                 expect="shape mismatch (2): fc.weight (checkpoint [10, 1024], model [1000, 1024])")
    assert "--num-classes" in err


def test_pickled_code_refused(upstream_pth, tmp_path, capsys):
    src = tmp_path / "pickled.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "callback": np.random.default_rng}, src)
    _fails(tmp_path, capsys, "--model", "oct_mobilenet", "--src", src, expect="could run code")


def test_output_name_of_the_wrong_framework(upstream_pth, tmp_path, capsys):
    assert _run("--model", "oct_mobilenet", "--src", upstream_pth[0], "--dst", tmp_path / "x.pt") == 2
    assert "the output is a paddle one; name it *.pdparams" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()
