"""PP-LCNet: PaddleClas's state-dict layout, its model keys (stride_list pairs, use_last_conv, class_expand,
dropout_prob, lr_mult_list) and their refusals."""

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.arch import build_arch, check_arch_keys
from paddle_conv.errors import ConfigError
from paddle_conv.models.pp_lcnet import make_divisible

PULC_STRIDES = [2, [2, 1], [2, 1], [2, 1], [2, 1]]


def paddleclas_keys(se_blocks=2):
    """The state-dict names of PaddleClas's PPLCNet (``ppcls/arch/backbone/legendary_models/pp_lcnet.py``):
    ``conv1``, blocks of ``blocks2`` ... ``blocks6`` (1, 2, 2, 6, 2; SE in the last two), ``last_conv``, ``fc``."""
    bn = ("weight", "bias", "_mean", "_variance")
    conv_bn = lambda p: [f"{p}.conv.weight", *(f"{p}.bn.{k}" for k in bn)]  # noqa: E731
    keys = conv_bn("conv1")
    for stage, count in zip(range(2, 7), (1, 2, 2, 6, 2)):
        for i in range(count):
            block = f"blocks{stage}.{i}"
            se = [f"{block}.se.conv{j}.{k}" for j in (1, 2) for k in ("weight", "bias")] if stage == 6 else []
            keys += conv_bn(f"{block}.dw_conv") + se + conv_bn(f"{block}.pw_conv")
    return keys + ["last_conv.weight", "fc.weight", "fc.bias"]


def test_state_dict_is_paddleclas_layout_and_counts_match_the_paper():
    model = pc.create_model("pplcnet_x1_0")
    assert list(model.state_dict()) == paddleclas_keys()
    params = sum(int(np.prod(p.shape)) for p in model.parameters())
    assert params == pytest.approx(pc.model_card("pplcnet_x1_0").paper["params"], rel=0.02)  # 2.96 M vs "3.0"
    assert [make_divisible(16 * s) for s in (0.25, 0.35, 0.5, 2.5)] == [8, 8, 8, 40]
    assert pc.model_card("pplcnet_x0_25").weights[0].urls[0].endswith("/PPLCNet_x0_25_pretrained.pdparams")


def test_stride_list_pairs_halve_the_height_only():
    model = pc.create_model("pplcnet_x0_25", num_classes=3, stride_list=PULC_STRIDES)
    shapes = []
    model.blocks6.register_forward_post_hook(lambda layer, inputs, out: shapes.append(out.shape))
    model.eval()
    assert model(paddle.randn([1, 3, 80, 160])).shape == [1, 3]
    assert shapes == [[1, 128, 3, 80]]  # 80 -> 40 -> 20 -> 10 -> 5 -> 3; 160 -> 80 (the stem's 2 only)


def test_use_last_conv_class_expand_and_dropout_prob():
    plain = pc.create_model("pplcnet_x0_5", num_classes=4, use_last_conv=False)
    assert plain.last_conv is None and plain.dropout is None and plain.fc.weight.shape == [256, 4]
    assert "last_conv.weight" not in plain.state_dict()
    expanded = pc.create_model("pplcnet_x0_5", num_classes=4, class_expand=64, dropout_prob=0.5)
    assert expanded.last_conv.weight.shape == [64, 256, 1, 1] and expanded.fc.weight.shape == [64, 4]
    expanded.train()
    x = paddle.ones([1, 64, 1, 1])
    kept = expanded.dropout(x).numpy()
    assert set(np.unique(kept)) <= {0.0, 1.0}  # downscale_in_infer: kept values are not scaled in training
    expanded.eval()
    np.testing.assert_allclose(expanded.dropout(x).numpy(), 0.5)  # ... but scaled at inference


def test_lr_mult_list_sets_each_stage_learning_rate():
    paddle.seed(0)
    model = pc.create_model("pplcnet_x0_25", num_classes=2, lr_mult_list=[0.0, 1.0, 1.0, 1.0, 1.0, 0.5])
    assert {p.optimize_attr["learning_rate"] for p in model.blocks6.parameters()} == {0.5}
    assert {p.optimize_attr["learning_rate"] for p in model.fc.parameters()} == {1.0}
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    optimizer = paddle.optimizer.Momentum(0.1, parameters=model.parameters())
    model(paddle.randn([2, 3, 32, 32])).sum().backward()
    optimizer.step()
    after = model.state_dict()
    stem = [k for k in before if k.startswith("conv1.") and not k.endswith(("_mean", "_variance"))]
    assert len(stem) == 3 and all(np.array_equal(before[k], after[k].numpy()) for k in stem)
    assert not np.array_equal(before["blocks2.0.dw_conv.conv.weight"], after["blocks2.0.dw_conv.conv.weight"].numpy())


@pytest.mark.parametrize("key, value, words", [
    ("stride_list", [2, 2, 2, 2], "expected 5 strides"),
    ("stride_list", [2, [2, 1, 1], 2, 2, 2], "[h, w] pair"),
    ("lr_mult_list", "[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]", "6 learning-rate multipliers"),  # PaddleClas eval()s text
    ("scale", 0, "width multiplier"),
    ("use_last_conv", "no", "true or false"),
    ("class_expand", 0, "the last conv's width"),
    ("dropout_prob", 1.0, "[0, 1)"),
])
def test_bad_model_keys_are_config_errors_naming_the_key(key, value, words):
    with pytest.raises(ConfigError, match=f"Arch.{key}") as exc:
        build_arch({"name": "pplcnet_x0_25", "class_num": 2, key: value})
    assert words in str(exc.value)


def test_paddleclas_keys_reach_pplcnet_and_are_refused_elsewhere_naming_it():
    net = build_arch({"name": "pplcnet_x0_25", "class_num": 2, "stride_list": PULC_STRIDES, "use_last_conv": False})
    assert net.last_conv is None and net.blocks3[0].dw_conv.conv._stride == [2, 1]
    with pytest.raises(ConfigError, match="one of ours that takes it: pplcnet_x0_25"):
        check_arch_keys("resnet50", {"stride_list": PULC_STRIDES})
    with pytest.raises(ConfigError, match="drop_path_rate"):  # no residual blocks
        check_arch_keys("pplcnet_x1_0", {"drop_path_rate": 0.1})


def test_dropout_prob_in_a_config_is_the_model_own_not_drop_rate():
    from paddle_conv.config.arch_keys import validate_arch
    arch = validate_arch(None, "Arch", {"name": "pplcnet_x0_25", "class_num": 2, "dropout_prob": 0.1})
    assert arch["dropout_prob"] == 0.1 and "drop_rate" not in arch
    assert build_arch(arch).dropout.p == 0.1


def test_use_ssld_chooses_the_ssld_weights_where_the_card_lists_them():
    from paddle_conv.config.arch_keys import validate_arch
    arch = {"class_num": 2, "pretrained": True, "use_ssld": True}
    assert validate_arch(None, "Arch", {"name": "pplcnet_x1_0", **arch})["pretrained"] == "in1k_ssld"
    assert validate_arch(None, "Arch", {"name": "pplcnet_x0_25", **arch})["pretrained"] is True  # none: a note


def test_weights_of_the_full_model_load_without_the_last_conv(tmp_path, capsys):
    """As PaddleClas's loader for PULC's ``use_last_conv: false`` configs: ImageNet weights (last conv, 1000
    classes) load into the backbone; the last conv's tensors are skipped, the classifier starts anew."""
    full = pc.create_model("pplcnet_x0_25")
    paddle.save(full.state_dict(), str(tmp_path / "imagenet.pdparams"))
    plain = pc.create_model("pplcnet_x0_25", num_classes=2, use_last_conv=False,
                            pretrained=str(tmp_path / "imagenet.pdparams"))
    err = capsys.readouterr().err
    assert "skipped last_conv.weight" in err and "except the classifier 'fc'" in err
    for key, value in plain.state_dict().items():
        assert key.startswith("fc.") or np.array_equal(value.numpy(), full.state_dict()[key].numpy()), key
