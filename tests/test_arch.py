"""PaddleClas's common Arch keys on every model: class_num, drop_rate, drop_path_rate, pretrained."""

import numpy as np
import paddle
import pytest

from paddle_conv.arch import build_arch, check_arch_keys, supports_drop_path
from paddle_conv.errors import ConfigError


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
        check_arch_keys("oct_resnet26", {"use_sync_bn": True})
    assert err.value.key == "use_sync_bn" and "unknown key 'use_sync_bn' for model oct_resnet26" in str(err.value)
    with pytest.raises(ConfigError, match="drop_rate: expected a number in"):
        build_arch({"name": "tiny_cnn", "drop_rate": 1.5})
