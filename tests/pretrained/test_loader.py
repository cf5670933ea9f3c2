"""Loading published weights end to end: local HTTP server -> cache -> bridge conversion -> model."""

import hashlib

import numpy as np
import paddle
import pytest
import torch

import paddle_conv as pc
from paddle_conv.cards import WeightEntry
from paddle_conv.errors import WeightsError
from paddle_conv.pretrained.download import download_path
from paddle_conv.pretrained.loader import load_weights
from tests.pretrained.http_fixture import FileServer
from weights_bridge import create_reference


def _training_script_file(reference, path):
    """What PyTorch's ImageNet script writes (d-li14's files): DataParallel keys inside a checkpoint dict."""
    state = {f"module.{k}": v for k, v in reference.state_dict().items()}
    torch.save({"epoch": 120, "arch": "oct_mobilenet", "best_acc1": torch.tensor(71.254), "state_dict": state}, path)
    return path.read_bytes()


def _entry(url, data, **kwargs):
    fields = dict(model="oct_mobilenet", name="imagenet", urls=(url,), file_name="omb.pth.tar", file_format="torch",
                  converter="torch", license="Apache-2.0", upstream="d-li14/octconv.pytorch", dataset="imagenet-1k",
                  sha256=hashlib.sha256(data).hexdigest(), num_classes=10)
    fields.update(kwargs)
    return WeightEntry(**fields)


def _logits(model, x):
    model.eval()
    with paddle.no_grad():
        return model(paddle.to_tensor(x)).numpy()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    torch.manual_seed(0)
    reference = create_reference("oct_mobilenet", num_classes=10).eval()
    data = _training_script_file(reference, tmp_path_factory.mktemp("up") / "omb.pth.tar")
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype("float32")
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    return data, x, expected


def test_download_convert_cache_and_same_logits(home, upstream, capsys):
    data, x, expected = upstream
    server = FileServer()
    server.files["/omb.pth.tar"] = data
    with server.running():
        entry = _entry(server.url("/omb.pth.tar"), data)
        model = pc.create_model("oct_mobilenet", num_classes=10)
        report = load_weights(model, "oct_mobilenet", [entry], True, classifier="fc")
    assert not report["reinitialised"]
    np.testing.assert_allclose(_logits(model, x), expected, rtol=1e-4, atol=1e-5)
    [cached] = (home / "converted").glob("oct_mobilenet-imagenet-*.pdparams")  # named by model, entry, source
    assert "cached as" in capsys.readouterr().err
    # second use: the server is gone, the converted file is reused
    again = pc.create_model("oct_mobilenet", num_classes=10)
    load_weights(again, "oct_mobilenet", [entry], "imagenet", classifier="fc")
    np.testing.assert_allclose(_logits(again, x), expected, rtol=1e-4, atol=1e-5)
    assert len(server.requests) == 1


def test_file_placed_by_hand_is_used_offline(home, upstream):
    data, x, expected = upstream
    entry = _entry("http://127.0.0.1:9/unreachable", data)
    model = pc.create_model("oct_mobilenet", num_classes=10)
    with pytest.raises(WeightsError) as info:
        load_weights(model, "oct_mobilenet", [entry], True, classifier="fc")
    where = download_path(entry.file_name, entry.urls, entry.sha256)
    assert str(where) in str(info.value)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_bytes(data)
    load_weights(model, "oct_mobilenet", [entry], True, classifier="fc")
    np.testing.assert_allclose(_logits(model, x), expected, rtol=1e-4, atol=1e-5)


def test_other_class_count_keeps_all_but_the_classifier(home, upstream, tmp_path, capsys):
    data, x, _ = upstream
    path = tmp_path / "omb.pth"
    path.write_bytes(data)
    model = pc.create_model("oct_mobilenet", num_classes=3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    report = load_weights(model, "oct_mobilenet", [], str(path), classifier="fc", num_classes=10)
    assert sorted(report["reinitialised"]) == ["fc.bias", "fc.weight"]
    assert "except the classifier 'fc'" in capsys.readouterr().err
    after = model.state_dict()
    np.testing.assert_array_equal(after["fc.weight"].numpy(), before["fc.weight"])
    changed = [k for k in before
               if k not in ("fc.weight", "fc.bias") and not np.array_equal(after[k].numpy(), before[k])]
    assert changed, "the backbone took the file's weights"


def test_pdparams_path_prefix_and_wrong_architecture(home, tmp_path, monkeypatch):
    model = pc.create_model("oct_mobilenet", num_classes=10)
    path = tmp_path / "w.pdparams"
    paddle.save(model.state_dict(), str(path))
    fresh = pc.create_model("oct_mobilenet", num_classes=10)
    load_weights(fresh, "oct_mobilenet", [], str(path), classifier="fc")
    np.testing.assert_array_equal(fresh.state_dict()["fc.weight"].numpy(), model.state_dict()["fc.weight"].numpy())
    prefix = tmp_path / "best_model"  # a checkpoint prefix without its suffix, from the working directory
    paddle.save(model.state_dict(), str(prefix) + ".pdparams")
    monkeypatch.chdir(tmp_path)
    load_weights(fresh, "oct_mobilenet", [], "best_model", classifier="fc")
    with pytest.raises(WeightsError, match="do not fit the model"):
        load_weights(pc.create_model("tiny_cnn", num_classes=10), "tiny_cnn", [], str(path), classifier="fc")


@pytest.mark.parametrize("pretrained, message", [(True, "has no published weights"),
                                                 ("imagenet_v9", "no weights named 'imagenet_v9'"),
                                                 ("missing/file.pth", "do not exist")])
def test_clear_errors(home, pretrained, message):
    with pytest.raises(WeightsError, match=message):
        load_weights(pc.create_model("tiny_cnn", num_classes=10), "tiny_cnn", [], pretrained, classifier="fc")
