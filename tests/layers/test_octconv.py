import itertools

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_conv.layers import Conv_BN, Conv_BN_ACT, OctaveConv
from paddle_conv.layers.octconv import downsample, upsample_to

ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]  # the seed's closed range [0, 1]


def _octave_input(n, channels, alpha, h, w):
    lo = int(alpha * channels)
    x_h = paddle.randn([n, channels - lo, h, w]) if alpha < 1 else None
    if alpha == 0:
        return x_h
    return x_h, paddle.randn([n, lo, (h + 1) // 2, (w + 1) // 2])


@pytest.mark.parametrize("alpha_in,alpha_out,stride", itertools.product(ALPHAS, ALPHAS, [1, 2]))
def test_shapes_every_alpha_and_stride(alpha_in, alpha_out, stride):
    conv = OctaveConv(16, 24, 3, alpha_in=alpha_in, alpha_out=alpha_out, stride=stride, padding=1)
    y_h, y_l = conv(_octave_input(2, 16, alpha_in, 12, 10))
    lo_out, h, w = int(alpha_out * 24), 12 // stride, 10 // stride
    if alpha_out == 1:
        assert y_h is None
    else:
        assert y_h.shape == [2, 24 - lo_out, h, w]
    if alpha_out == 0:
        assert y_l is None
    else:  # the low branch is ceil(H/2) x ceil(W/2) of the high one
        assert y_l.shape == [2, lo_out, (h + 1) // 2, (w + 1) // 2]


@pytest.mark.parametrize("alpha", [0.0, 0.5])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_has_only_same_frequency_paths(alpha, stride):
    conv = OctaveConv(32, 32, 3, alpha_in=alpha, alpha_out=alpha, stride=stride, padding=1, groups=32)
    assert conv.conv_h2l is None and conv.conv_l2h is None
    assert conv.conv_h2h._groups == 32 - int(alpha * 32)
    y_h, y_l = conv(_octave_input(1, 32, alpha, 8, 8))
    assert y_h.shape == [1, 32 - int(alpha * 32), 8 // stride, 8 // stride]
    assert (y_l is None) == (alpha == 0)


def test_grouped_and_dilated():
    conv = OctaveConv(16, 32, 3, groups=4, padding=2, dilation=2)
    assert conv.conv_h2h._groups == 2 and conv.conv_l2l._groups == 2 and conv.conv_h2l._groups == 4
    y_h, y_l = conv(_octave_input(1, 16, 0.5, 9, 9))
    assert y_h.shape == [1, 16, 9, 9] and y_l.shape == [1, 16, 5, 5]


def test_parameter_names_follow_reference():
    names = set(Conv_BN_ACT(8, 8, 3, padding=1).state_dict())
    assert {"conv.conv_h2h.weight", "conv.conv_h2l.weight", "conv.conv_l2h.weight", "conv.conv_l2l.weight",
            "bn_h.weight", "bn_h._mean", "bn_l._variance"} <= names
    assert not any("bias" in n for n in names if n.startswith("conv."))  # bias=False by default
    first = Conv_BN(3, 8, 3, alpha_in=0, alpha_out=0.5)
    assert first.conv.conv_l2h is None and first.conv.conv_l2l is None
    last = Conv_BN(8, 8, 3, alpha_in=0.5, alpha_out=0)
    assert last.bn_l is None and last.conv.conv_h2l is None and last.conv.conv_l2l is None


@pytest.mark.parametrize("alpha_in,alpha_out,stride", [(0, 0.5, 1), (0.5, 0.5, 2), (0.5, 0, 1), (0.25, 0.75, 2),
                                                      (0, 1, 1), (1, 1, 2), (1, 0.5, 1), (0.5, 1, 2)])
def test_gradient_reaches_every_parameter(alpha_in, alpha_out, stride):
    layer = Conv_BN_ACT(8, 8, 3, alpha_in=alpha_in, alpha_out=alpha_out, stride=stride, padding=1, bias=True)
    y_h, y_l = layer(_octave_input(2, 8, alpha_in, 6, 6))
    loss = sum(y.square().mean() for y in (y_h, y_l) if y is not None)
    loss.backward()
    for name, p in layer.named_parameters():
        if p.stop_gradient:  # BN running statistics
            continue
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_even_sizes_equal_plain_pooling_and_upsampling():
    x = paddle.randn([2, 3, 8, 6])
    np.testing.assert_array_equal(downsample(x).numpy(), F.avg_pool2d(x, 2, 2).numpy())
    y = upsample_to(x, paddle.zeros([1, 1, 16, 12]))
    np.testing.assert_array_equal(y.numpy(), np.repeat(np.repeat(x.numpy(), 2, axis=2), 2, axis=3))


def test_odd_sizes_pool_to_ceil_and_crop_back():
    x = paddle.arange(15, dtype="float32").reshape([1, 1, 3, 5])
    pooled = downsample(x)
    assert pooled.shape == [1, 1, 2, 3]
    # the last row/column windows are partial: they average only the pixels inside the map
    assert float(pooled[0, 0, 1, 2]) == 14.0
    assert float(pooled[0, 0, 0, 2]) == (4.0 + 9.0) / 2
    assert float(pooled[0, 0, 1, 0]) == (10.0 + 11.0) / 2
    assert upsample_to(pooled, x).shape == [1, 1, 3, 5]


@pytest.mark.parametrize("h,w", [(33, 33), (65, 47), (7, 1)])
def test_odd_input_sizes_through_stacked_layers(h, w):
    first = Conv_BN_ACT(3, 16, 3, alpha_in=0, alpha_out=0.5, padding=1)
    mid = Conv_BN_ACT(16, 16, 3, stride=2, padding=1)
    mid2 = Conv_BN_ACT(16, 16, 3, padding=1)
    last = Conv_BN_ACT(16, 8, 3, alpha_in=0.5, alpha_out=0, padding=1)
    y_h, y_l = last(mid2(mid(first(paddle.randn([1, 3, h, w])))))
    assert y_l is None and y_h.shape == [1, 8, (h + 1) // 2, (w + 1) // 2]


@pytest.mark.parametrize("kwargs,match", [
    (dict(alpha_in=1.5), r"alpha_in=1.5 is outside \[0, 1\]"),
    (dict(alpha_out=-0.1), r"alpha_out=-0.1 is outside \[0, 1\]"),
    (dict(stride=3), "stride=3 is not supported: use 1 or 2"),
    (dict(groups=3), "must both be divisible by groups=3"),
])
def test_misuse_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        OctaveConv(8, 8, 3, **kwargs)


def test_alpha_one_is_all_low_frequency():
    """alpha_out=1: every output channel is a half-resolution (low-frequency) map, no high branch;
    alpha_in=1 takes it as (None, x_l), as the seed's layers chain."""
    first = Conv_BN_ACT(3, 16, 3, alpha_in=0, alpha_out=1, padding=1)
    y_h, y_l = first(paddle.randn([2, 3, 8, 8]))
    assert y_h is None and y_l.shape == [2, 16, 4, 4] and first.bn_h is None
    assert [n for n, _ in first.conv.named_sublayers()] == ["conv_h2l"]
    inner = OctaveConv(16, 16, 3, alpha_in=1, alpha_out=1, padding=1)
    assert [n for n, _ in inner.named_sublayers()] == ["conv_l2l"]
    y_h2, y_l2 = inner((None, y_l))
    assert y_h2 is None and y_l2.shape == [2, 16, 4, 4]
    np.testing.assert_allclose(y_l2.numpy(), inner.conv_l2l(y_l).numpy(), atol=1e-6)  # a plain conv at 1/2 res
    last = OctaveConv(16, 8, 1, alpha_in=1, alpha_out=0)
    y_h3, y_l3 = last((None, y_l2))
    assert y_l3 is None and y_h3.shape == [2, 8, 8, 8]  # back to full resolution (nearest 2x)
    np.testing.assert_array_equal(y_h3.numpy()[:, :, ::2, ::2], last.conv_l2h(y_l2).numpy())
    with pytest.raises(ValueError, match=r"alpha_in=1 takes \(None, x_l\)"):
        inner((paddle.randn([2, 0, 8, 8]), y_l))


def test_wrong_input_form_is_a_clear_error():
    with pytest.raises(ValueError, match=r"needs a \(x_h, x_l\) tuple"):
        OctaveConv(8, 8, 1)(paddle.randn([1, 8, 4, 4]))
    with pytest.raises(ValueError, match="alpha_in=0\\) got a low-frequency input"):
        OctaveConv(8, 8, 1, alpha_in=0)((paddle.randn([1, 8, 4, 4]), paddle.randn([1, 4, 2, 2])))


@pytest.mark.parametrize("fixed", [True, False])
@pytest.mark.parametrize("h,w,out_channels", [(8, 8, 16), (7, 9, 16), (6, 6, 14)])  # 14: 7 high channels (odd)
def test_static_graph_fast_path_equals_eager_reference(fixed, h, w, out_channels):
    """to_static takes the transposed-convolution up-sampling (cropped only when needed); it must
    equal the eager expand + reshape path, for fixed and dynamic input sizes, even and odd."""
    block = Conv_BN_ACT(16, out_channels, 1, alpha_in=0.5, alpha_out=0.5)
    block.eval()

    class TwoInputs(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.block = block

        def forward(self, x_h, x_l):
            return self.block((x_h, x_l))

    model = TwoInputs()
    x_h, x_l = paddle.randn([2, 8, h, w]), paddle.randn([2, 8, (h + 1) // 2, (w + 1) // 2])
    specs = [paddle.static.InputSpec(list(t.shape) if fixed else [None, 8, None, None], "float32") for t in (x_h, x_l)]
    with paddle.no_grad():
        eager = [t.numpy() for t in model(x_h, x_l)]
        static = paddle.jit.to_static(model, input_spec=specs, full_graph=True)  # converts model in place
        graph = [t.numpy() for t in static(x_h, x_l)]
    assert "conv2d_transpose" in str(static.forward.concrete_program.main_program)
    for want, got in zip(eager, graph):
        assert float(np.abs(want - got).max() / np.abs(want).max()) < 1e-5
