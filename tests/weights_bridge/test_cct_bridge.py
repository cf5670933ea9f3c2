"""CCT bridge: every builder's torch reference (SHI-Labs layout) and Paddle model agree."""

import numpy as np
import paddle
import pytest
import torch
from torch.nn import functional as F

import paddle_conv as pc
from paddle_conv.layers import resize_grid_embedding
from paddle_conv.models.cct import cct_config
from weights_bridge import paddle_to_torch, parity, torch_to_paddle
from weights_bridge.references import create_reference


def _small(name):
    """Builder keywords and input side that keep the test cheap: the 224/384 models are built
    for 64x64 images (same layers and weights, a 4x4 token grid instead of 14x14 / 24x24)."""
    native = cct_config(name)["img_size"]
    return ({}, native) if native == 32 else ({"img_size": 64}, 64)


def _images(side, batch=2, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, 3, side, side)).astype("float32")


def _pair(name, **kwargs):
    """Like ``parity.model_pair``, minus both frameworks' own initialisation (seconds for the
    22M-parameter cct_14 models): the reference is built on the meta device, then every
    parameter is drawn by ``parity.randomize_torch_`` and copied into the Paddle model."""
    with torch.device("meta"):
        reference = create_reference(name, **kwargs)
    reference = parity.randomize_torch_(reference.to_empty(device="cpu"))
    with paddle.LazyGuard():
        model = pc.create_model(name, **kwargs)
    return reference, parity.paddle_twin(reference, model, name)


@pytest.mark.parametrize("name", sorted(set(pc.list_models("cct_*")) - {"cct_keras_cifar"}))
def test_eval_parity_and_bit_exact_round_trip(name):
    kwargs, side = _small(name)
    torch_model, paddle_model = _pair(name, **kwargs)
    report = parity.check_parity(torch_model, paddle_model, _images(side), name, train=False)
    assert report.ok, report.summary()
    assert parity.round_trip_mismatches(paddle_model, torch_model, name) == []


@pytest.mark.parametrize("name", ["cct_2_3x2_32", "cct_2_3x2_32_sine"])
def test_training_gradients_match_without_randomness(name):
    quiet = {"dropout": 0.0, "attention_dropout": 0.0, "stochastic_depth": 0.0}
    torch_model, paddle_model = _pair(name, **quiet)
    report = parity.check_parity(torch_model, paddle_model, _images(32), name, train_dtype="float64")
    # SeqPool's softmax ignores a shift of all scores, so the scoring bias gets no gradient:
    # both sides give rounding noise (~1e-15) there, which a relative comparison cannot judge.
    shift = "grad param classifier.attention_pool.bias"
    assert all(d.ok for d in report.diffs if d.name != shift), report.summary()
    assert [d.max_abs < 1e-12 for d in report.diffs if d.name == shift] == [True]
    assert paddle_model.classifier.attention_pool.bias.grad.abs().max() < 1e-12
    assert len(report.diffs) > 30  # eval, train, input and every parameter's gradient


def test_upstream_checkpoint_file_converts_and_back(tmp_path):
    reference = _pair("cct_7_3x1_32")[0].eval()
    path = tmp_path / "cct_7_3x1_32_cifar10.pth"
    # as a DataParallel training script saves it: {"state_dict": {"module.<key>": ...}}
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = pc.create_model("cct_7_3x1_32")
    missing, unexpected = model.set_state_dict(torch_to_paddle(state, "cct_7_3x1_32"))
    assert not missing and not unexpected
    model.eval()
    x = _images(32, batch=1)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(paddle.to_tensor(x)).numpy(), expected, rtol=1e-4, atol=1e-5)
    with torch.device("meta"):
        back = create_reference("cct_7_3x1_32")
    back.load_state_dict(paddle_to_torch(model.state_dict(), "cct_7_3x1_32"), strict=True, assign=True)
    for key, value in reference.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key


def test_sine_reference_holds_the_same_fixed_table():
    torch_table = create_reference("cct_6_3x1_32_sine").classifier.positional_emb
    assert not torch_table.requires_grad
    paddle_table = pc.create_model("cct_6_3x1_32_sine").classifier.positional_emb
    np.testing.assert_allclose(paddle_table.numpy(), torch_table.detach().numpy(), atol=1e-6)


def test_grid_resize_is_torch_bicubic():
    embedding = np.random.default_rng(1).standard_normal((1, 8 * 8, 5)).astype("float32")
    ours = resize_grid_embedding(paddle.to_tensor(embedding), (8, 8), (12, 10)).numpy()
    grid = torch.from_numpy(embedding).reshape(1, 8, 8, 5).permute(0, 3, 1, 2)
    theirs = F.interpolate(grid, size=(12, 10), mode="bicubic", align_corners=False)
    np.testing.assert_allclose(ours, theirs.permute(0, 2, 3, 1).reshape(1, 120, 5).numpy(), atol=1e-5)
