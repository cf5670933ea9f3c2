"""PaddleClas's common Arch keys on every model: class_num, drop_rate, drop_path_rate, pretrained,
head_init_scale, use_sync_bn, stop_grad_layers; the keys of one PaddleClas architecture (FOREIGN_KEYS)."""

import numpy as np
import paddle
import pytest

from paddle_conv.arch import FOREIGN_KEYS, build_arch, check_arch_keys, foreign_keys, supports_drop_path
from paddle_conv.errors import ConfigError
from paddle_conv.notes import NOTES
from paddle_conv.registry import MODELS, list_models, model_card


def outputs(net, x, train, seed=0):
    net.train() if train else net.eval()
    paddle.seed(seed)
    return net(x).numpy()


def test_drop_rate_is_dropout_before_the_classifier_in_training_only():
    paddle.seed(0)
    plain = build_arch({"name": "tiny_cnn", "class_num": 3, "width": 0.25})
    dropped = build_arch({"name": "tiny_cnn", "class_num": 3, "width": 0.25, "drop_rate": 0.5})
    dropped.set_state_dict(plain.state_dict())
    assert set(dropped.state_dict()) == set(plain.state_dict())  # same names: checkpoints still load
    x = paddle.randn([4, 3, 16, 16])
    np.testing.assert_allclose(outputs(dropped, x, False), outputs(plain, x, False), rtol=1e-6)
    assert not np.allclose(outputs(dropped, x, True), outputs(plain, x, True))


@pytest.mark.parametrize("name", ["oct_resnet26", "resnet50"])
def test_drop_path_drops_residual_branches_of_resnets(name):
    paddle.seed(0)
    plain = build_arch({"name": name, "class_num": 3})
    drop = build_arch({"name": name, "class_num": 3, "drop_path_rate": 0.5})
    drop.set_state_dict(plain.state_dict())
    x = paddle.randn([2, 3, 32, 32])
    np.testing.assert_allclose(outputs(drop, x, False), outputs(plain, x, False), rtol=1e-5, atol=1e-5)
    assert not np.allclose(outputs(drop, x, True, seed=1), outputs(plain, x, True, seed=1), atol=1e-4)


RESIDUAL_BLOCKS = tuple({cls for n in list_models() for cls, *_ in model_card(n).residual_branches})


@pytest.mark.parametrize("name", list_models())
def test_drop_path_rate_works_on_every_model_with_residual_blocks_and_is_refused_naming_the_key_on_others(name):
    """Driven by the registry: a model whose card lists residual branches (or that takes its own stochastic
    depth) builds with ``drop_path_rate``; any other is refused by a ConfigError naming the key, and holds
    none of the residual blocks the cards know. Skeletons (paddle.LazyGuard, no weights drawn) or the card's
    small instance (``quick_check``)."""
    arch = {"name": name, "class_num": 3, **(model_card(name).quick_check or {}).get("kwargs", {})}
    if supports_drop_path(name):
        with paddle.LazyGuard():
            build_arch({**arch, "drop_path_rate": 0.1})  # a card listing branches the model lacks: no site, raises
        return
    with pytest.raises(ConfigError, match=rf"Arch\.drop_path_rate: {name} has no residual blocks"):
        build_arch({**arch, "drop_path_rate": 0.1})
    network = build_arch(arch)
    assert not any(isinstance(layer, RESIDUAL_BLOCKS) for layer in network.sublayers())


def test_drop_path_goes_to_cct_own_stochastic_depth_and_is_refused_without_residuals():
    net = build_arch({"name": "cct_2_3x2_32", "class_num": 3, "drop_path_rate": 0.3})
    rates = [layer.drop_prob for layer in net.sublayers() if hasattr(layer, "drop_prob")]
    assert max(rates) == pytest.approx(0.3)
    assert not supports_drop_path("oct_mobilenet")
    with pytest.raises(ConfigError, match=r"Arch\.drop_path_rate: oct_mobilenet has no residual blocks"):
        build_arch({"name": "oct_mobilenet", "class_num": 3, "drop_path_rate": 0.1})
    build_arch({"name": "oct_mobilenet", "class_num": 3, "drop_path_rate": 0.0})  # 0: nothing to do


def test_pretrained_true_false_path(tmp_path):
    with pytest.raises(ConfigError, match=r"Arch\.pretrained: true: tiny_cnn has no published weights"):
        build_arch({"name": "tiny_cnn", "class_num": 3, "pretrained": True})
    src = build_arch({"name": "tiny_cnn", "class_num": 3, "pretrained": False})
    paddle.save(src.state_dict(), str(tmp_path / "w.pdparams"))
    loaded = build_arch({"name": "tiny_cnn", "class_num": 3, "pretrained": str(tmp_path / "w")})
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k].numpy(), v.numpy())


def test_unknown_keys_of_kwargs_builders_are_errors_naming_the_key_not_type_errors():
    with pytest.raises(ConfigError) as err:
        check_arch_keys("oct_resnet26", {"use_sync_b": True})
    assert err.value.key_path == "Arch.use_sync_b" and err.value.problem == "unknown key"
    assert "unknown key 'use_sync_b' for model oct_resnet26" in str(err.value)
    with pytest.raises(ConfigError, match="drop_rate: expected a number in"):
        build_arch({"name": "tiny_cnn", "drop_rate": 1.5})


def test_head_init_scale_scales_the_classifier_init_before_pretrained_weights_load(tmp_path):
    for name, head in (("tiny_cnn", "fc"), ("cct_2_3x2_32", "classifier.fc")):
        assert model_card(name).classifier == head
        paddle.seed(0)
        plain = build_arch({"name": name, "class_num": 3})
        paddle.seed(0)
        scaled = build_arch({"name": name, "class_num": 3, "head_init_scale": 0.25})
        scaled_state = scaled.state_dict()
        for key, value in plain.state_dict().items():
            factor = 0.25 if key in (f"{head}.weight", f"{head}.bias") else 1.0
            np.testing.assert_allclose(scaled_state[key].numpy(), value.numpy() * factor, rtol=1e-6, err_msg=key)
    paddle.save(plain.state_dict(), str(tmp_path / "w.pdparams"))  # weights with this classifier replace it
    loaded = build_arch({"name": "cct_2_3x2_32", "class_num": 3, "head_init_scale": 0.25,
                         "pretrained": str(tmp_path / "w")})
    np.testing.assert_array_equal(loaded.state_dict()["classifier.fc.weight"].numpy(),
                                  plain.state_dict()["classifier.fc.weight"].numpy())
    with pytest.raises(ConfigError, match="head_init_scale: expected a number"):
        build_arch({"name": "tiny_cnn", "head_init_scale": "big"})


@pytest.mark.parametrize("optimizer", ["momentum_l2", "adamw"])
def test_stop_grad_layers_leaves_the_first_stages_unchanged_by_a_step(optimizer):
    paddle.seed(0)
    net = build_arch({"name": "tiny_cnn", "class_num": 3, "width": 0.5, "stop_grad_layers": 2})
    before = {k: v.numpy().copy() for k, v in net.named_parameters()}
    if optimizer == "adamw":
        opt = paddle.optimizer.AdamW(0.1, parameters=net.parameters(), weight_decay=0.1)
    else:
        opt = paddle.optimizer.Momentum(0.1, parameters=net.parameters(), weight_decay=paddle.regularizer.L2Decay(0.1))
    net.train()
    net(paddle.randn([4, 3, 32, 32])).mean().backward()
    opt.step()
    for key, value in net.named_parameters():
        if key.endswith(("._mean", "._variance")):  # BatchNorm statistics: not trained, they track (as PaddleClas)
            continue
        frozen = key.startswith(("stages.0.", "stages.1."))
        assert np.array_equal(value.numpy(), before[key]) == frozen, key
        assert value.trainable != frozen


STAGED = [n for n in list_models(task="classification") if model_card(n).stages]
#: Deeper models of the same class and stage names as a model whose stages are checked (left out for time).
DEEPER_TWINS = {**{f"oct_resnet{d}": "oct_resnet26" for d in (50, 101, 152, 200)},
                **{f"resnet{d}": "resnet18" for d in (34, 50, 101)}, "conv_resnet50": "resnet50_dcn"}


def test_deeper_twins_share_the_checked_stages():
    for deeper, checked in DEEPER_TWINS.items():
        assert model_card(deeper).stages == model_card(checked).stages
        assert MODELS.get(deeper).__module__ == MODELS.get(checked).__module__


@pytest.mark.parametrize("name", [n for n in STAGED if n not in DEEPER_TWINS])
def test_card_stages_end_at_stride_2_to_the_k(name):
    """Stage k of a card (what stop_grad_layers: N freezes) ends at output stride 2**k, as VGG's k-th conv block."""
    stages = model_card(name).stages
    assert len(stages) == 5
    net = build_arch({"name": name, "class_num": 3})
    layers = dict(net.named_sublayers())
    heights = {}
    for stage in stages:
        for layer in stage:
            layers[layer].register_forward_post_hook(
                lambda _, inputs, out, layer=layer: heights.__setitem__(layer, (out[0] if isinstance(out, tuple)
                                                                                else out).shape[2]))
    net.eval()
    net(paddle.randn([1, 3, 64, 64]))
    for k, stage in enumerate(stages, start=1):
        assert heights[stage[-1]] == 64 // 2 ** k, (k, stage)
    named = {n for stage in stages for n in stage}
    assert len(named) == sum(len(stage) for stage in stages)


def test_stop_grad_layers_refused_with_the_reason_where_it_cannot_be_honoured():
    assert {"resnet50", "oct_resnet26", "mobilenet_v2", "tiny_cnn"} <= set(STAGED)
    assert all(n.startswith("cct") for n in set(list_models(task="classification")) - set(STAGED))  # transformers
    with pytest.raises(ConfigError, match=r"stop_grad_layers: cct_2_3x2_32's card lists no feature stages"):
        check_arch_keys("cct_2_3x2_32", {"stop_grad_layers": 1})
    with pytest.raises(ConfigError, match=r"stop_grad_layers: tiny_cnn has 5 feature stages, not 6"):
        check_arch_keys("tiny_cnn", {"stop_grad_layers": 6})
    check_arch_keys("cct_2_3x2_32", {"stop_grad_layers": 0})  # 0: nothing to freeze


def test_use_sync_bn_converts_on_several_gpus_before_the_hooks_and_is_a_note_on_one_device(monkeypatch):
    NOTES.clear()
    net = build_arch({"name": "resnet18", "class_num": 3, "use_sync_bn": True})
    assert "one device" in NOTES["Arch.use_sync_bn"]
    assert not any(isinstance(layer, paddle.nn.SyncBatchNorm) for layer in net.sublayers())
    monkeypatch.setattr(paddle.distributed, "get_world_size", lambda: 2)
    monkeypatch.setattr(paddle, "get_device", lambda: "gpu:0")
    net = build_arch({"name": "resnet50", "class_num": 3, "use_sync_bn": True, "drop_path_rate": 0.1})
    norms = [layer for layer in net.sublayers() if isinstance(layer, paddle.nn.layer.norm._BatchNormBase)]
    assert norms and all(isinstance(layer, paddle.nn.SyncBatchNorm) for layer in norms)
    assert net.layer1[0].bn3._forward_post_hooks  # drop path hooks on the converted layers
    monkeypatch.setattr(paddle, "get_device", lambda: "cpu")
    NOTES.clear()
    build_arch({"name": "tiny_cnn", "class_num": 3, "use_sync_bn": True})
    assert "needs GPUs" in NOTES["Arch.use_sync_bn"]
    with pytest.raises(ConfigError, match="use_sync_bn: expected true or false"):
        check_arch_keys("tiny_cnn", {"use_sync_bn": "yes"})


def test_keys_of_another_paddleclas_architecture_are_noted_at_their_default_and_refused_otherwise():
    NOTES.clear()
    arch = {"name": "tiny_cnn", "class_num": 3, **{key: spec.default for key, spec in FOREIGN_KEYS.items()}}
    build_arch(arch)
    assert NOTES["Arch.layer_scale_init_value"] == ("ConvNeXt's layer scale at its default (1e-06); tiny_cnn has no "
                                                    "layer scale: no effect")
    assert set(NOTES) == {f"Arch.{key}" for key in FOREIGN_KEYS}
    for key, value in (("layer_scale_init_value", 0.1), ("layer_type", "DiverseBranchBlock"),
                       ("use_first_short_conv", False), ("dropout", 0.05)):
        with pytest.raises(ConfigError) as err:
            build_arch({"name": "oct_resnet26", key: value})
        assert err.value.key_path == f"Arch.{key}" and err.value.problem == "bad value"
        assert "defines another architecture than oct_resnet26" in str(err.value)
    assert foreign_keys("tiny_cnn", {"layer_type": "x", "width": 1}) == ["layer_type"]


def test_efficientnet_override_params_set_batchnorm_and_stochastic_depth_and_refuse_architecture_fields():
    NOTES.clear()
    params = {"batch_norm_momentum": 0.8, "batch_norm_epsilon": 1e-3, "depth_trunc": "round", "drop_connect_rate": 0.1}
    net = build_arch({"name": "oct_resnet26", "class_num": 3, "override_params": params})
    norms = [layer for layer in net.sublayers() if isinstance(layer, paddle.nn.BatchNorm2D)]
    assert norms and {(n._momentum, n._epsilon) for n in norms} == {(0.8, 1e-3)}
    assert sum(len(layer._forward_post_hooks) for layer in net.sublayers()) > 0  # drop_connect_rate: drop path
    assert "no effect" in NOTES["Arch.override_params.depth_trunc"]
    plain = build_arch({"name": "oct_resnet26", "class_num": 3})
    assert sum(len(layer._forward_post_hooks) for layer in plain.sublayers()) == 0
    for bad, words in (({"width_coefficient": 1.2}, "EfficientNet's own architecture"),
                       ({"batch_norm_epsilon": 0}, "above 0"), ({"drop_connect_rate": 0.2}, "conflicts")):
        with pytest.raises(ConfigError, match=words):
            build_arch({"name": "oct_resnet26", "drop_path_rate": 0.1, "override_params": bad})
    with pytest.raises(ConfigError, match="override_params.drop_connect_rate: mobilenet_v1 has no residual"):
        build_arch({"name": "mobilenet_v1", "override_params": {"drop_connect_rate": 0.1}})
