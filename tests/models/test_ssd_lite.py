"""ssd_lite: registered, taps the backbone at the asked strides, priors match its head outputs; the taps
survive deep copies, BN folding and dy2static; the state dict is that of earlier checkpoints."""

import copy
import json
import os

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.det import detect, prior_boxes
from paddle_conv.errors import ConfigError
from paddle_conv.fuse import fuse
from paddle_conv.losses import MultiBoxLoss
from paddle_conv.models.ssd_lite import FeatureTap
from tests.deploy.randomized import randomize_batchnorm


def test_ssd_lite_mobilenet_shapes_and_loss():
    model = pc.create_model("ssd_lite", num_classes=4, backbone="mobilenet_v1", backbone_kwargs={"scale": 0.25},
                            input_size=64, strides=(8, 16, 32), extra_channels=(32,))
    assert "ssd_lite" in pc.list_models()
    assert model._tap_names == ["conv4_1", "conv5_5", "conv6"]
    cfg = model.prior_config
    assert cfg["feature_maps"] == [8, 4, 2, 1]
    num = 8 * 8 * 4 + 4 * 4 * 6 + 2 * 2 * 6 + 1 * 4
    loc, conf, priors = model(paddle.randn([2, 3, 64, 64]))
    assert loc.shape == [2, num, 4] and conf.shape == [2, num, 4] and priors.shape == [num, 4]
    np.testing.assert_allclose(priors.numpy(), prior_boxes(cfg).numpy())
    targets = [np.array([[0.1, 0.1, 0.5, 0.6, 2]], "float32"), np.zeros((0, 5), "float32")]
    loss_l, loss_c = MultiBoxLoss(num_classes=4)((loc, conf, priors), targets)
    (loss_l + loss_c).backward()
    assert model.loc_heads[0][1].weight.grad is not None
    model.eval()
    dets = detect(*model(paddle.randn([1, 3, 64, 64])), top_k=5)
    assert dets[0].shape[1] == 6 and len(dets[0]) <= 5


def test_ssd_lite_on_oct_mobilenet():
    model = pc.create_model("ssd_lite", num_classes=3, backbone="oct_mobilenet", input_size=64, strides=(16, 32),
                            extra_channels=())
    loc, conf, priors = model(paddle.randn([1, 3, 64, 64]))
    assert model.prior_config["feature_maps"] == [4, 2]
    assert conf.shape == [1, priors.shape[0], 3]


def test_ssd_lite_errors():
    with pytest.raises(ConfigError, match="stride 64"):
        pc.create_model("ssd_lite", backbone_kwargs={"scale": 0.25}, input_size=64, strides=(64,))
    with pytest.raises(ConfigError, match="32 to 300"):
        pc.create_model("ssd_lite", input_size=512)
    model = pc.create_model("ssd_lite", backbone_kwargs={"scale": 0.25}, input_size=64, extra_channels=())
    with pytest.raises(ConfigError, match="built for 64x64"):
        model(paddle.randn([1, 3, 96, 96]))


def _tiny_teacher():
    with open(os.path.join(os.path.dirname(__file__), "ssd_lite_state_keys.json")) as f:
        recorded = json.load(f)
    return pc.create_model("ssd_lite", **recorded["arch"]), recorded["state"]


def test_state_dict_is_that_of_the_hook_based_ssd_lite_and_loads_strictly():
    model, recorded = _tiny_teacher()
    assert [[name, list(t.shape)] for name, t in model.state_dict().items()] == recorded
    rng = np.random.default_rng(0)
    old = {name: paddle.to_tensor(rng.standard_normal(shape).astype("float32")) for name, shape in recorded}
    missing, unexpected = model.set_state_dict(old)
    assert not missing and not unexpected
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(tensor.numpy(), old[name].numpy())


def test_oct_mobilenet_taps_add_no_name_to_the_backbone():
    model = pc.create_model("ssd_lite", num_classes=3, backbone="oct_mobilenet", input_size=64, strides=(16, 32),
                            extra_channels=())
    plain = pc.create_model("oct_mobilenet", num_classes=1)
    names = [n for n in model.state_dict() if n.startswith("backbone.")]
    assert names == ["backbone." + n for n in plain.state_dict()]
    assert {n.split(".")[0] for n in model.state_dict()} == {"backbone", "loc_heads", "conf_heads"}


def _explicit_tiny_forward(model, x):
    """SSDLite on tiny_cnn written out: stages run by hand up to each tap, then extras and heads."""
    stages, maps = model.backbone.stages, []
    for i, stage in enumerate(stages):
        x = stage(x)
        if i >= 2:  # taps stages.2, stages.3 and stages (strides 8, 16, 32)
            maps.append(x)
    for block in model.extras:
        maps.append(block(maps[-1]))
    locs = [h(m).transpose([0, 2, 3, 1]).reshape([0, -1, 4]) for h, m in zip(model.loc_heads, maps)]
    confs = [h(m).transpose([0, 2, 3, 1]).reshape([0, -1, 4]) for h, m in zip(model.conf_heads, maps)]
    return paddle.concat(locs, axis=1), paddle.concat(confs, axis=1)


@pytest.mark.parametrize("training", [False, True])
def test_tapped_forward_equals_the_explicit_one_bit_for_bit(training):
    model, _ = _tiny_teacher()
    assert model._tap_names == ["stages.2", "stages.3", "stages"]
    randomize_batchnorm(model)
    model.train() if training else model.eval()
    x = paddle.to_tensor(np.random.default_rng(1).standard_normal([2, 3, 64, 64]).astype("float32"))
    loc, conf, _ = model(x)
    want_loc, want_conf = _explicit_tiny_forward(model, x)
    np.testing.assert_array_equal(loc.numpy(), want_loc.numpy())
    np.testing.assert_array_equal(conf.numpy(), want_conf.numpy())


def test_taps_survive_deepcopy_fuse_and_to_static():
    model = pc.create_model("ssd_lite", num_classes=3, backbone="tiny_cnn", backbone_kwargs={"width": 0.25},
                            input_size=64, strides=(16, 32), extra_channels=(16,))
    randomize_batchnorm(model)
    model.eval()
    x = paddle.to_tensor(np.random.default_rng(2).standard_normal([2, 3, 64, 64]).astype("float32"))
    want = [o.numpy() for o in model(x)]
    twin = copy.deepcopy(model)
    fused = fuse(copy.deepcopy(model), input_shape=[2, 3, 64, 64])
    static = paddle.jit.to_static(copy.deepcopy(model), full_graph=True)
    for other in (twin, fused, static):
        for got, w in zip(other(x), want):
            np.testing.assert_allclose(got.numpy(), w, rtol=0, atol=1e-5)
    # each copy fills its own taps: the original's stay empty
    assert all(not layer.tap_store for layer in model._tap_layers())
    model.backbone(x)  # the backbone alone leaves its maps in the taps; a copy does not take them along
    assert all(layer.tap_store for layer in model._tap_layers())
    assert all(not layer.tap_store for layer in copy.deepcopy(model)._tap_layers())


def test_a_tapped_layer_replaced_later_is_tapped_again():
    # resnet50: the stride-16 tap is a BatchNorm that paddle_conv.fuse turns into nn.Identity
    model = pc.create_model("ssd_lite", num_classes=3, backbone="resnet50", input_size=64, strides=(16,),
                            extra_channels=())
    assert model._tap_names == ["layer4.0.bn1"]
    randomize_batchnorm(model)
    model.eval()
    x = paddle.to_tensor(np.random.default_rng(3).standard_normal([1, 3, 64, 64]).astype("float32"))
    want = model(x)[1].numpy()
    fused = fuse(copy.deepcopy(model), input_shape=[1, 3, 64, 64])
    assert isinstance(fused.backbone.layer4[0].bn1, paddle.nn.Identity)
    np.testing.assert_allclose(fused(x)[1].numpy(), want, rtol=0, atol=1e-4 * max(1.0, float(np.abs(want).max())))
    assert isinstance(fused.backbone.layer4[0].bn1, FeatureTap)


@pytest.mark.parametrize("backbone", ["oct_mobilenet", "resnet50"])
def test_a_layer_run_twice_per_forward_is_no_tap(backbone):
    # oct_mobilenet: a Conv_BN_ACT's ReLU runs on the high then the low branch (its last output is a
    # stride-16 map); resnet50: a bottleneck's ReLU runs three times. Each asked stride gets its own map.
    model = pc.create_model("ssd_lite", num_classes=3, backbone=backbone, input_size=64, strides=(8, 16, 32),
                            extra_channels=())
    assert not any(name.endswith(("act", "relu")) for name in model._tap_names)
    assert model.prior_config["feature_maps"] == [8, 4, 2]
    loc, conf, priors = model(paddle.randn([1, 3, 64, 64]))
    assert loc.shape[1] == conf.shape[1] == priors.shape[0]
