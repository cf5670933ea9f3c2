import numpy as np
import paddle
import pytest

from paddle_conv.layers import RefConv2D


def trainable(layer):
    return sum(int(p.numel()) for p in layer.parameters() if not p.stop_gradient)


@pytest.mark.parametrize("cin, cout, k, stride, groups, expected", [
    (32, 64, 3, 1, 1, 18_432),     # dense: (64*32) 2-D kernels, each its own 3x3 transform
    (64, 64, 3, 1, 64, 36_864),    # depthwise: one dense 64 -> 64 3x3 transform
    (96, 96, 5, 2, 96, 82_944),    # depthwise 5x5 stride 2: 96 -> 96 3x3 transform
])
def test_trainable_counts_equal_official(cin, cout, k, stride, groups, expected):
    layer = RefConv2D(cin, cout, k, stride=stride, groups=groups)
    num_2d = cout * cin // groups
    map_groups = cin * cout // groups ** 2
    assert trainable(layer) == num_2d * (num_2d // map_groups) * 3 * 3 == expected


def test_state_dict_names_and_frozen_basis():
    layer = RefConv2D(8, 16, 3, groups=2)
    assert list(layer.state_dict()) == ["weight", "convmap.weight"]
    assert [n for n, _ in layer.named_parameters()] == ["convmap.weight"]
    assert layer.state_dict()["weight"].shape == [16, 4, 3, 3]


def test_padding_default_keeps_size_and_stride_halves():
    x = paddle.randn([2, 4, 9, 9])
    assert RefConv2D(4, 6, 3)(x).shape == [2, 6, 9, 9]
    assert RefConv2D(4, 4, 5, stride=2, groups=4)(x).shape == [2, 4, 5, 5]


def test_forward_is_conv_with_refocused_kernel():
    layer = RefConv2D(4, 6, 3, groups=2)
    x = paddle.randn([1, 4, 7, 7])
    k = layer.weight + layer.convmap(layer.weight.reshape([1, 12, 3, 3])).reshape([6, 2, 3, 3])
    ref = paddle.nn.functional.conv2d(x, k, padding=1, groups=2)
    np.testing.assert_allclose(layer(x).numpy(), ref.numpy(), atol=1e-6)


def test_training_with_paddle_model_updates_only_the_transform():
    net = paddle.nn.Sequential(RefConv2D(3, 4, 3), paddle.nn.Flatten(), paddle.nn.Linear(4 * 6 * 6, 2))
    basis = net[0].weight.numpy().copy()
    transform = net[0].convmap.weight.numpy().copy()
    model = paddle.Model(net)
    model.prepare(paddle.optimizer.Adam(0.01, parameters=model.parameters()), paddle.nn.CrossEntropyLoss())
    x, y = np.random.rand(4, 3, 6, 6).astype("float32"), np.array([[0], [1], [0], [1]])
    for _ in range(3):
        model.train_batch([x], [y])
    assert np.array_equal(net[0].weight.numpy(), basis)
    assert not np.allclose(net[0].convmap.weight.numpy(), transform)


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel_size": 1}, "map_k=3 exceeds kernel_size=1"),
    ({"kernel_size": 3, "groups": 3}, "divisible by groups=3"),
    ({"kernel_size": (3, 5)}, "square kernels"),
])
def test_bad_arguments_explain_the_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RefConv2D(4, 8, **kwargs)
