import numpy as np
import paddle
import pytest

from paddle_conv.errors import UnknownNameError
from paddle_conv.layers import (
    CONV_KINDS,
    Bottleneck,
    ChannelShuffle,
    DeformConv2D,
    DenseConv2D,
    DepthwiseSeparableConv,
    InceptionBlock,
    OctaveConv,
    RefConv2D,
    SqueezeExcite,
    create_conv2d,
)


def count(layer):
    return sum(int(p.numel()) for p in layer.parameters())


def bn_count(c):  # weight, bias, mean, variance
    return 4 * c


def test_depthwise_separable_count_and_shape():
    k, cin, cout = 3, 16, 32
    layer = DepthwiseSeparableConv(cin, cout, k, stride=2)
    assert count(layer) == k * k * cin + cin * cout
    assert count(DepthwiseSeparableConv(cin, cout, k, bias=True)) == k * k * cin + cin + cin * cout + cout
    assert layer(paddle.randn([2, cin, 9, 9])).shape == [2, cout, 5, 5]


def test_group_and_dilated_counts_and_shapes():
    k, cin, cout, g = 3, 16, 32, 4
    group = create_conv2d("group", cin, cout, k, groups=g)
    assert count(group) == cout * (cin // g) * k * k
    dilated = create_conv2d("dilated", cin, cout, k)
    assert dilated._dilation == [2, 2] and count(dilated) == cout * cin * k * k
    x = paddle.randn([1, cin, 10, 10])
    assert group(x).shape == dilated(x).shape == [1, cout, 10, 10]  # "same" padding


def test_channel_shuffle_permutation_is_exact():
    g, n = 3, 4
    c = g * n
    x = paddle.arange(c, dtype="float32").reshape([1, c, 1, 1]).expand([2, c, 2, 3])
    out = ChannelShuffle(g)(x).numpy()
    expected = [(j % g) * n + j // g for j in range(c)]
    assert out[:, :, 0, 0].tolist() == [expected, expected]
    assert expected == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    assert count(ChannelShuffle(g)) == 0


def test_squeeze_excite_count_shape_and_scale_range():
    c, r = 32, 8
    layer = SqueezeExcite(c, reduction=r)
    assert count(layer) == c * (c // r) + c // r + (c // r) * c + c
    x = paddle.randn([2, c, 5, 5]) * 10
    scale = layer.scale(x).numpy()
    assert scale.shape == (2, c, 1, 1) and (scale > 0).all() and (scale < 1).all()
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() * scale, rtol=1e-6, atol=1e-6)



def test_squeeze_excite_gate_and_names():
    """A hard sigmoid gate (``relu6(x + 3) / 6``, PP-LCNet's) and a published layout's attribute names."""
    c = 8
    layer = SqueezeExcite(c, reduction=4, gate=paddle.nn.functional.hardsigmoid, names=("conv1", "conv2"))
    assert sorted(layer.state_dict()) == ["conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight"]
    x = paddle.randn([2, c, 3, 3]) * 10
    pre = layer.conv2(paddle.nn.functional.relu(layer.conv1(x.mean(axis=[2, 3], keepdim=True)))).numpy()
    np.testing.assert_allclose(layer.scale(x).numpy(), np.clip(pre / 6 + 0.5, 0, 1), rtol=1e-5, atol=1e-6)

def test_bottleneck_count_and_shape():
    cin, planes = 64, 16
    w = planes
    block = Bottleneck(cin, planes)  # C_in == 4 * planes: identity shortcut
    assert block.downsample is None
    assert count(block) == cin * w + 9 * w * w + w * 4 * planes + bn_count(w) * 2 + bn_count(4 * planes)
    projected = Bottleneck(32, planes, stride=2)
    assert count(projected) == (32 * w + 9 * w * w + w * 4 * planes + bn_count(w) * 2 + bn_count(4 * planes)
                                + 32 * 4 * planes + bn_count(4 * planes))
    assert projected(paddle.randn([2, 32, 8, 8])).shape == [2, 64, 4, 4]


@pytest.mark.parametrize("kind, cls", [("deform", DeformConv2D), ("refconv", RefConv2D),
                                       ("depthwise_separable", DepthwiseSeparableConv)])
def test_bottleneck_conv_is_configurable(kind, cls):
    block = Bottleneck(16, 4, stride=2, conv=kind)
    assert isinstance(block.conv2, cls)
    assert block(paddle.randn([1, 16, 6, 6])).shape == [1, 16, 3, 3]


def test_inception_naive_count_and_shape():
    c, a, b, d = 8, 4, 6, 2
    block = InceptionBlock(c, a, b, d)
    assert not block.reduced and block.out_channels == a + b + d + c
    assert count(block) == (c * a + a) + (9 * c * b + b) + (25 * c * d + d)
    assert block(paddle.randn([2, c, 7, 7])).shape == [2, a + b + d + c, 7, 7]


def test_inception_reduced_count_and_shape():
    c, a, r3, b, r5, d, p = 16, 4, 3, 6, 2, 5, 7
    block = InceptionBlock(c, a, b, d, ch3x3_reduce=r3, ch5x5_reduce=r5, pool_proj=p)
    assert block.reduced and block.out_channels == a + b + d + p
    assert count(block) == ((c * a + a) + (c * r3 + r3) + (9 * r3 * b + b) + (c * r5 + r5)
                            + (25 * r5 * d + d) + (c * p + p))
    assert block(paddle.randn([1, c, 6, 6])).shape == [1, a + b + d + p, 6, 6]
    with pytest.raises(ValueError, match="give all three"):
        InceptionBlock(c, a, b, d, ch3x3_reduce=r3)


@pytest.mark.parametrize("kind, cls", [("conv", DenseConv2D), ("group", DenseConv2D), ("dilated", DenseConv2D),
                                       ("depthwise_separable", DepthwiseSeparableConv),
                                       ("deform", DeformConv2D), ("refconv", RefConv2D)])
def test_factory_kinds_keep_the_shape_contract(kind, cls):
    kw = {"groups": 2} if kind == "group" else {}
    conv = create_conv2d(kind, 8, 12, 3, stride=2, **kw)
    assert type(conv) is cls
    assert conv(paddle.randn([2, 8, 9, 9])).shape == [2, 12, 5, 5]


def test_factory_octave_and_kind_list():
    conv = create_conv2d("octave", 8, 8, 3, alpha_in=0.0, alpha_out=0.5)
    assert isinstance(conv, OctaveConv)
    y_h, y_l = conv(paddle.randn([1, 8, 8, 8]))
    assert y_h.shape == [1, 4, 8, 8] and y_l.shape == [1, 4, 4, 4]
    assert CONV_KINDS.names() == sorted(["conv", "group", "dilated", "depthwise_separable", "deform",
                                         "refconv", "octave"])


def test_factory_errors():
    with pytest.raises(UnknownNameError, match="deform"):
        create_conv2d("deformable", 4, 4, 3)
    with pytest.raises(ValueError, match="groups=G > 1"):
        create_conv2d("group", 4, 4, 3)
    with pytest.raises(ValueError, match="takes no groups"):
        create_conv2d("depthwise_separable", 4, 4, 3, groups=2)
