"""tools/convert_weights.py on checkpoint files as published: names, wrappers, partial transfer,
dtypes, --inspect and bad destinations (exit 2, one error line, nothing written)."""

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

MODEL = "mobilenet_v1"  # d-li14's layout: features.i -> paddle.vision names


@pytest.fixture(scope="module")
def reference():
    torch.set_num_threads(1)
    return parity.randomize_torch_(wb.create_reference(MODEL, num_classes=10), seed=4).eval()


@pytest.fixture(scope="module")
def training_checkpoint(reference, tmp_path_factory):
    """PyTorch's ImageNet script's model_best.pth.tar: DataParallel prefix, optimizer, epoch, metrics."""
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    reference(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()  # momentum buffers in the optimizer state
    optimizer.zero_grad()
    reference.eval()
    path = tmp_path_factory.mktemp("ckpt") / "model_best.pth.tar"
    torch.save({"epoch": 150, "arch": "mobilenet_v1", "best_acc1": torch.tensor(72.238),
                "state_dict": {"module." + k: v for k, v in reference.state_dict().items()},
                "optimizer": optimizer.state_dict()}, path)
    return path


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _paddle_outputs(pdparams, x, **kwargs):
    model = create_model(MODEL, num_classes=10, **kwargs)
    missing, unexpected = model.set_state_dict(safe_paddle_load(str(pdparams)))
    assert not missing and not unexpected
    model.eval()
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()


def _expected(reference, x):
    with torch.no_grad():
        return reference(torch.from_numpy(x)).numpy()


X = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype("float32")


def test_training_script_checkpoint_converts_with_equal_outputs(training_checkpoint, reference, tmp_path, capsys):
    dst = tmp_path / "mobilenet_v1.pdparams"
    code, out, err = _run(capsys, "--model", MODEL, "--src", training_checkpoint, "--dst", dst, "--num-classes", 10)
    assert code == 0, err
    assert "weights found under 'state_dict', prefix 'module.' stripped" in out
    assert "ignored 4 entries beside the weights: epoch, arch, best_acc1, optimizer" in out
    assert parity.compare("out", _expected(reference, X), _paddle_outputs(dst, X)).ok
    assert os.listdir(tmp_path) == ["mobilenet_v1.pdparams"]


@pytest.mark.parametrize("name", ["w.pt", "w.ckpt", "w.bin", "w.tar", "weights", "legacy.pth"])
def test_any_torch_file_name_recognised_by_content(reference, tmp_path, capsys, name):
    src = tmp_path / name
    state = {"_orig_mod." + k: v for k, v in reference.state_dict().items()}
    torch.save({"model": state}, src, _use_new_zipfile_serialization=not name.startswith("legacy"))
    code, out, err = _run(capsys, "--model", MODEL, "--src", src, "--dst", tmp_path / "out.pdparams",
                          "--num-classes", 10)
    assert code == 0, err
    assert "prefix '_orig_mod.' stripped" in out
    assert parity.compare("out", _expected(reference, X), _paddle_outputs(tmp_path / "out.pdparams", X)).ok
    # and back, from a Paddle file whose name says nothing
    renamed = tmp_path / "paddle_weights"
    os.rename(tmp_path / "out.pdparams", renamed)
    code, out, err = _run(capsys, "--model", MODEL, "--src", renamed, "--dst", tmp_path / "back.pth.tar",
                          "--num-classes", 10)
    assert code == 0 and "paddle to torch" in out, err
    back = torch.load(tmp_path / "back.pth.tar", weights_only=True)
    for key, value in reference.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(back[key], value), key


def test_key_picks_the_ema_weights(reference, tmp_path, capsys):
    ema = {k: v + 1 if v.is_floating_point() else v for k, v in reference.state_dict().items()}
    src = tmp_path / "ema.pth"
    torch.save({"model": reference.state_dict(), "model_ema": ema, "epoch": 3}, src)
    code, out, err = _run(capsys, "--model", MODEL, "--src", src, "--dst", tmp_path / "a.pdparams",
                          "--num-classes", 10)
    assert code == 0 and "other state dicts too: model_ema (choose one with --key)" in out, err
    code, out, err = _run(capsys, "--model", MODEL, "--src", src, "--dst", tmp_path / "b.pdparams",
                          "--num-classes", 10, "--key", "model_ema")
    assert code == 0, err
    got = safe_paddle_load(str(tmp_path / "b.pdparams"))["conv1.0.weight"].numpy()
    np.testing.assert_array_equal(got, ema["features.0.0.weight"].numpy())
    code, _, err = _run(capsys, "--model", MODEL, "--src", src, "--dst", tmp_path / "c.pdparams", "--key", "ema")
    assert code == 2 and err.startswith("error: the checkpoint has no entry 'ema'") and err.count("\n") == 1


def test_from_overrides_content(reference, tmp_path, capsys):
    src = tmp_path / "w.pth"
    torch.save(reference.state_dict(), src)
    code, _, err = _run(capsys, "--model", MODEL, "--src", src, "--dst", tmp_path / "o.pth", "--from", "paddle")
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "o.pth").exists()


def test_half_precision_converted_to_float32_with_a_note(reference, tmp_path, capsys):
    src = tmp_path / "bf16.pth"
    torch.save({k: v.bfloat16() if v.is_floating_point() else v for k, v in reference.state_dict().items()}, src)
    code, out, err = _run(capsys, "--model", MODEL, "--src", src, "--dst", tmp_path / "o.pdparams",
                          "--num-classes", 10)
    assert code == 0, err
    assert "bfloat16 tensor(s) to float32" in out
    state = safe_paddle_load(str(tmp_path / "o.pdparams"))
    assert all(v.dtype == paddle.float32 for v in state.values())


def _fails(capsys, tmp_path, *argv, expect):
    before = sorted(os.listdir(tmp_path))
    code, _, err = _run(capsys, *argv)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and expect in err, err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no temporary left
    return err


def test_integer_nonfinite_and_bad_numbers_refused(reference, tmp_path, capsys):
    state = reference.state_dict()
    ints = tmp_path / "int8.pth"
    torch.save(dict(state, **{"fc.weight": state["fc.weight"].to(torch.int8)}), ints)
    nan = tmp_path / "nan.pth"
    torch.save(dict(state, **{"fc.bias": torch.full_like(state["fc.bias"], float("nan"))}), nan)
    common = ("--model", MODEL, "--num-classes", 10, "--dst", tmp_path / "o.pdparams")
    _fails(capsys, tmp_path, *common, "--src", ints, expect="key 'fc.weight' holds int8 values")
    _fails(capsys, tmp_path, *common, "--src", nan, expect="key 'fc.bias' holds 10 NaN or infinite value(s)")
    _fails(capsys, tmp_path, "--model", MODEL, "--src", nan, "--dst", tmp_path / "o.pdparams", "--num-classes", -1,
           expect="--num-classes must be a positive integer, got -1")
    code, out, err = _run(capsys, *common, "--src", nan, "--allow-nonfinite")
    assert code == 0, err
    os.remove(tmp_path / "o.pdparams")


def test_bad_destinations(reference, tmp_path, capsys):
    src = tmp_path / "w.pth"
    torch.save(reference.state_dict(), src)
    (tmp_path / "folder.pdparams").mkdir()
    (tmp_path / "afile").write_text("x")
    common = ("--model", MODEL, "--src", src, "--num-classes", 10)
    _fails(capsys, tmp_path, *common, "--dst", tmp_path / "folder.pdparams", expect="is a directory")
    _fails(capsys, tmp_path, *common, "--dst", tmp_path / "afile" / "o.pdparams", expect="is a file")
    _fails(capsys, tmp_path, *common, "--dst", tmp_path / "nope" / "o.pdparams", expect="does not exist")
    assert os.listdir(tmp_path / "folder.pdparams") == []


def test_partial_transfer_lists_filled_and_initialised_keys(tmp_path, capsys):
    """A torchvision ResNet-50 into conv_resnet50(conv="refconv"): the 3x3 kernels become RefConv's
    frozen basis, the refocusing transforms keep their initialisation; another head is ignored."""
    src = tmp_path / "resnet50.pth"
    torch.save(wb.create_reference("resnet50").state_dict(), src)
    dst = tmp_path / "refconv.pdparams"
    code, out, err = _run(capsys, "--model", "conv_resnet50", "--model-kwargs", '{"conv": "refconv"}', "--src", src,
                          "--dst", dst, "--num-classes", 10, "--allow-missing", "*.convmap.weight",
                          "--ignore", "fc.*")
    assert code == 0, err
    lines = {line.split(" (")[0]: line for line in out.splitlines()}
    assert "(18): layer1.0.conv2.convmap.weight" in lines["left as initialised"]  # 16 blocks + fc
    assert "fc.weight, fc.bias" in lines["left as initialised"]
    assert "ignored checkpoint keys (2): fc.weight, fc.bias" in out
    assert lines["filled from the checkpoint"].startswith("filled from the checkpoint (265): conv1.weight,")
    state = safe_paddle_load(str(dst))
    np.testing.assert_array_equal(state["layer1.0.conv2.weight"].numpy(),
                                  torch.load(src, weights_only=True)["layer1.0.conv2.weight"].numpy())
    code, _, err = _run(capsys, "--model", "conv_resnet50", "--model-kwargs", '{"conv": "refconv"}', "--src", src,
                        "--dst", tmp_path / "x.pdparams", "--num-classes", 10)
    assert code == 2 and "--allow-missing PATTERN" in err


def test_inspect_writes_nothing(training_checkpoint, tmp_path, capsys):
    before = sorted(os.listdir(training_checkpoint.parent))
    code, out, err = _run(capsys, "--inspect", training_checkpoint)
    assert code == 0, err
    assert "format: torch" in out and "tensors: 164 (float32, int64)" in out
    assert "model: mobilenet_v1 (137/137 of its keys, 0 other keys in the file; mapping: mobilenet_v1's KeyMapping" \
        in out
    assert sorted(os.listdir(training_checkpoint.parent)) == before


def test_bad_builder_keywords(reference, tmp_path, capsys):
    src = tmp_path / "w.pth"
    torch.save(reference.state_dict(), src)
    common = ("--model", MODEL, "--src", src, "--dst", tmp_path / "o.pdparams")
    _fails(capsys, tmp_path, *common, "--model-kwargs", '{"depth": 3}', expect="cannot build 'mobilenet_v1'")
    _fails(capsys, tmp_path, *common, "--model-kwargs", "[1]", expect="--model-kwargs must be a JSON object")
