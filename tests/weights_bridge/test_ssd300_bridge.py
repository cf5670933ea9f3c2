"""ssd300_vgg16 against its torch reference in amdegroot/ssd.pytorch's layout: keys, parity of
random weights at 300x300 (a thin SSD300 for the gradients), both ways bit-exact, and the CLI."""

import importlib.util
import os

import numpy as np
import torch

import weights_bridge as wb
from paddle_conv.factory import create_model
from paddle_conv.io import safe_paddle_load
from weights_bridge import parity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_reference_has_amdegroots_state_dict_layout():
    keys = list(wb.create_reference("ssd300_vgg16").state_dict())
    convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28, 31, 33]  # vgg indices of the 15 convolutions
    expected = [f"vgg.{i}.{p}" for i in convs for p in ("weight", "bias")] + ["L2Norm.weight"]
    expected += [f"extras.{i}.{p}" for i in range(8) for p in ("weight", "bias")]
    expected += [f"{h}.{i}.{p}" for h in ("loc", "conf") for i in range(6) for p in ("weight", "bias")]
    assert keys == expected
    paddle_keys = list(wb.torch_to_paddle(wb.create_reference("ssd300_vgg16").state_dict(), "ssd300_vgg16"))
    assert paddle_keys[30] == "l2_norm.weight" and paddle_keys[-1] == "conf_heads.5.bias"


def test_thin_ssd300_parity_with_gradients():
    x = np.random.default_rng(0).standard_normal((1, 3, 300, 300)).astype("float32")
    torch_model, paddle_model = parity.model_pair("ssd300_vgg16", seed=1, num_classes=5, width=0.0625)
    report = parity.check_parity(torch_model, paddle_model, x, "ssd300_vgg16", train_dtype="float64")
    assert report.ok, report.summary()
    assert parity.round_trip_mismatches(paddle_model, torch_model, "ssd300_vgg16") == []


def test_convert_weights_cli_both_ways(tmp_path, capsys):
    """A random-init amdegroot-layout checkpoint -> .pdparams -> .pth: equal outputs, exact weights."""
    spec = importlib.util.spec_from_file_location("convert_weights", os.path.join(ROOT, "tools", "convert_weights.py"))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    torch.manual_seed(0)
    reference = wb.create_reference("ssd300_vgg16")
    src, pdparams, back = tmp_path / "ssd300_mAP_77.43_v2.pth", tmp_path / "ssd300.pdparams", tmp_path / "back.pth"
    torch.save(reference.state_dict(), src)
    argv = ["--model", "ssd300_vgg16", "--src", str(src), "--dst", str(pdparams), "--check", "--input-size", "300"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("ok   output") == 3, out  # loc, conf, priors
    print(out)
    model = create_model("ssd300_vgg16")
    missing, unexpected = model.set_state_dict(safe_paddle_load(str(pdparams)))
    assert not missing and not unexpected
    assert cli.main(["--model", "ssd300_vgg16", "--src", str(pdparams), "--dst", str(back)]) == 0
    loaded = torch.load(back, weights_only=True)
    assert list(loaded) == list(reference.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in reference.state_dict().items())
