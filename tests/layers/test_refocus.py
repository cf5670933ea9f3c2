import numpy as np
import paddle
import paddle.nn as nn
import pytest

from paddle_conv.layers import RefConv2D, depthwise
from paddle_conv.refconv import refocus, reparameterize


def small_net():
    paddle.seed(1)
    return nn.Sequential(
        nn.Conv2D(3, 8, 3, padding=1),                          # dense with bias
        nn.BatchNorm2D(8), nn.ReLU(),
        nn.Conv2D(8, 8, 5, stride=2, padding=2, groups=8, bias_attr=False),  # depthwise 5x5 s2
        nn.Conv2D(8, 16, 1, bias_attr=False),                   # 1x1: stays a Conv2D
        nn.Conv2D(16, 16, 3, padding=2, dilation=2, groups=4, bias_attr=False),  # grouped, dilated
        nn.AdaptiveAvgPool2D(1), nn.Flatten(), nn.Linear(16, 5),
    )


def structure(model):
    return ([type(layer).__name__ for layer in model.sublayers()],
            {k: tuple(v.shape) for k, v in model.state_dict().items()},
            sum(int(p.numel()) for p in model.parameters()))


def randomise_transforms(model, scale=0.1):
    for layer in model.sublayers():
        if isinstance(layer, RefConv2D):
            layer.convmap.weight.set_value(paddle.randn(layer.convmap.weight.shape) * scale)


def test_refocus_is_exact_at_zero_transform():
    net = small_net()
    net.eval()
    x = paddle.randn([2, 3, 12, 12])
    before = net(x).numpy()
    refocus(net)
    kinds = [type(layer).__name__ for layer in net.sublayers()]
    assert kinds.count("RefConv2D") == 3 and kinds.count("Conv2D") == 4  # 1x1 + three convmaps
    assert np.abs(net(x).numpy() - before).max() <= 1e-6


def test_refocused_kernels_are_frozen_copies():
    net = small_net()
    kernel = net[3].weight.numpy().copy()
    refocus(net)
    assert isinstance(net[3], RefConv2D) and net[3].weight.stop_gradient
    np.testing.assert_array_equal(net[3].weight.numpy(), kernel)
    assert "3.weight" not in [n for n, _ in net.named_parameters()]
    assert "3.convmap.weight" in [n for n, _ in net.named_parameters()]


def test_reparameterize_is_exact_and_restores_structure():
    net = small_net()
    net.eval()
    original = structure(net)
    x = paddle.randn([2, 3, 12, 12])
    before = net(x).numpy()
    refocus(net)
    randomise_transforms(net)
    refocused = net(x).numpy()
    assert np.abs(refocused - before).max() > 1e-3  # the transforms do change the function
    reparameterize(net)
    after = net(x).numpy()
    assert np.abs(after - refocused).max() <= 1e-5 * np.abs(refocused).max()
    assert structure(net) == original


def test_mobilenet_v1_round_trip():
    from paddle_conv.factory import create_model
    net = create_model("mobilenet_v1", num_classes=4)
    net.eval()
    original = structure(net)
    x = paddle.randn([1, 3, 32, 32])
    before = net(x).numpy()
    refocus(net)
    assert sum(isinstance(layer, RefConv2D) for layer in net.sublayers()) == 14  # stem + 13 depthwise
    assert np.abs(net(x).numpy() - before).max() <= 1e-6
    randomise_transforms(net, 0.02)
    refocused = net(x).numpy()
    reparameterize(net)
    assert np.abs(net(x).numpy() - refocused).max() <= 1e-5 * np.abs(refocused).max()
    assert structure(net) == original


def test_refocus_argument_errors():
    with pytest.raises(ValueError, match="min_kernel >= 3"):
        refocus(small_net(), min_kernel=1)
    with pytest.raises(ValueError, match="found no Conv2D"):
        refocus(nn.Sequential(nn.Conv2D(3, 4, 1)))


@pytest.mark.parametrize("basis", ["frozen", "trainable", "random_frozen", "random_trainable"])
def test_every_basis_mode_trains_what_it_says_and_reparameterizes_exactly(basis):
    net = small_net()
    net.eval()
    original = structure(net)
    kernels = {name: layer.weight.numpy() for name, layer in net.named_sublayers() if type(layer) is nn.Conv2D}
    x = paddle.randn([2, 3, 12, 12])
    refocus(net, only_transforms=True, init="xavier", basis=basis)
    refs = {name: layer for name, layer in net.named_sublayers() if isinstance(layer, RefConv2D)}
    assert len(refs) == 3
    for name, layer in refs.items():
        assert np.array_equal(layer.weight.numpy(), kernels[name]) == (not basis.startswith("random"))
        assert (not layer.weight.stop_gradient) == basis.endswith("trainable")
    learning = sorted(n for n, p in net.named_parameters() if not p.stop_gradient)
    expected = sorted(f"{n}.convmap.weight" for n in refs)
    if basis.endswith("trainable"):
        expected = sorted(expected + [f"{n}.weight" for n in refs])
    assert learning == expected
    refocused = net(x).numpy()
    reparameterize(net)
    assert np.abs(net(x).numpy() - refocused).max() <= 1e-5 * np.abs(refocused).max()
    assert structure(net) == original


def test_transform_init_zero_is_exact_and_xavier_is_not(monkeypatch):
    monkeypatch.setattr(depthwise, "native_conv2d_op", lambda: None)  # Paddle's kernel on both sides: bit-equal
    net = small_net()
    net.eval()
    x = paddle.randn([2, 3, 12, 12])
    before = net(x).numpy()
    assert np.abs(refocus(small_net().eval(), init="xavier")(x).numpy() - before).max() > 1e-3
    np.testing.assert_array_equal(refocus(net, init="zero")(x).numpy(), before)
    layer = RefConv2D(4, 8, 3)  # a fresh layer: the seed's Xavier
    bound = np.sqrt(6.0 / (1 * 9 + 32 * 9))  # Xavier-uniform on convmap [32, 1, 3, 3]: fans 9 and 288
    assert 0 < np.abs(layer.convmap.weight.numpy()).max() <= bound


def test_random_bases_are_drawn_again_after_loading_plain_weights():
    from paddle_conv.refconv import reset_random_bases
    plain = small_net().state_dict()
    net = refocus(small_net(), basis="random_frozen")
    net.set_state_dict(plain)  # plain kernels land in the bases (same names) ...
    assert reset_random_bases(net) == 3  # ... and are replaced by random ones
    assert not np.array_equal(net[3].weight.numpy(), plain["3.weight"].numpy())
    assert reset_random_bases(refocus(small_net())) == 0


def test_init_and_basis_must_be_known():
    with pytest.raises(ValueError, match="basis"):
        RefConv2D(4, 4, 3, basis="frozen_random")
    with pytest.raises(ValueError, match="init"):
        refocus(small_net(), init="kaiming")
