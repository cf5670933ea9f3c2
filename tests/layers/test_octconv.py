import itertools

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_conv.deploy.layer_forms import SeparateInputs
from paddle_conv.layers import Conv_BN, Conv_BN_ACT, OctaveConv
from paddle_conv.layers.octconv import RULE, ExportOctaveConv, Formulation, candidates, downsample, upsample_to

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


# in, out, kernel, alpha_in, alpha_out, stride, groups, bias, H x W of x_h
LAYERS = {
    "1x1": (16, 32, 1, 0.5, 0.5, 1, 1, True, (8, 8)),
    "1x1-stride2": (16, 32, 1, 0.5, 0.5, 2, 1, False, (8, 8)),
    "3x3": (16, 16, 3, 0.5, 0.5, 1, 1, True, (8, 8)),
    "3x3-odd": (16, 16, 3, 0.5, 0.5, 1, 1, False, (7, 9)),
    "1x1-odd": (16, 32, 1, 0.5, 0.5, 1, 1, True, (7, 9)),
    "first": (8, 16, 1, 0.0, 0.5, 1, 1, False, (8, 8)),
    "last": (16, 8, 1, 0.5, 0.0, 1, 1, True, (8, 8)),
    "depthwise": (16, 16, 3, 0.5, 0.5, 1, 16, False, (8, 8)),
    "all-low-out": (16, 16, 1, 0.5, 1.0, 1, 1, True, (8, 8)),
    "all-low-in": (16, 16, 3, 1.0, 0.5, 1, 1, False, (8, 8)),
}


def _layer_and_input(spec):
    cin, cout, k, a_in, a_out, stride, groups, bias, (h, w) = spec
    paddle.seed(0)
    conv = OctaveConv(cin, cout, k, a_in, a_out, stride, padding=k // 2, groups=groups, bias=bias)
    if bias:
        for c in (conv.conv_h2h, conv.conv_h2l, conv.conv_l2h, conv.conv_l2l):
            if c is not None:
                c.bias.set_value(np.random.default_rng(1).normal(size=c.bias.shape).astype("float32"))
    conv.eval()
    rng = np.random.default_rng(0)
    hi, lo = conv.channels_in
    x_h = paddle.to_tensor(rng.standard_normal([2, hi, h, w]).astype("float32")) if hi else None
    if not lo:
        return conv, x_h
    x_l = paddle.to_tensor(rng.standard_normal([2, lo, (h + 1) // 2, (w + 1) // 2]).astype("float32"))
    return conv, (x_h, x_l)


def _close(got, want):
    for g, w in zip(got, want):
        assert (g is None) == (w is None)
        if w is not None:
            err = float(np.abs(g.numpy() - w.numpy()).max()) / max(float(np.abs(w.numpy()).max()), 1.0)
            assert err <= 1e-5


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_formulation_equals_the_layer(name):
    conv, x = _layer_and_input(LAYERS[name])
    with paddle.no_grad():
        want = conv(x)
    forms = candidates(conv)
    assert conv.export_forms() == [f.name for f in [RULE] + [f for f in forms if f != RULE]]
    if name == "1x1":  # the layer shape where every candidate applies
        assert {f.name for f in forms} == {"deconv", "broadcast", "dense", "merge_low+deconv", "merge_low+broadcast",
                                           "merge_high+deconv", "merge_high+broadcast", "merge_high+dense",
                                           "merge_high+merge_low+deconv", "merge_high+merge_low+broadcast"}
    if name in ("3x3", "depthwise", "1x1-stride2"):  # l2h is not a dense 1x1 up-sampled convolution
        assert "dense" not in {f.upsample for f in forms}
    for f in forms:
        layer = ExportOctaveConv(conv, f)
        with paddle.no_grad():
            _close(layer(x), want)
        if isinstance(x, tuple) and x[0] is None:
            continue  # no x_h input (alpha_in = 1): nothing to rewrite, the dygraph check covers it
        xs = list(x) if isinstance(x, tuple) else [x]
        specs = [paddle.static.InputSpec(t.shape, "float32") for t in xs]
        wrapped = SeparateInputs(layer, None if isinstance(x, paddle.Tensor) else list(x))
        static = paddle.jit.to_static(wrapped, input_spec=specs, full_graph=True)
        with paddle.no_grad():
            _close(static(*xs), [w for w in want if w is not None])


def test_a_formulation_that_does_not_fit_is_refused():
    conv, _ = _layer_and_input(LAYERS["3x3"])
    with pytest.raises(ValueError, match="merge_high"):
        ExportOctaveConv(conv, Formulation(merge_high=True))


def test_a_formulation_name_is_parsed_or_refused():
    assert Formulation.parse("merge_low") == Formulation(merge_low=True)
    assert Formulation.parse("merge_high+merge_low+dense").name == "merge_high+merge_low+dense"
    with pytest.raises(ValueError, match="merge_low\\+broadcast"):
        Formulation.parse("merge_lo+broadcast")


def test_export_form_fits_a_named_formulation_to_the_layer():
    conv, _ = _layer_and_input(LAYERS["3x3"])  # 3x3 kernels: no merge_high, no dense up-sampling
    assert conv.export_form("merge_high+merge_low+dense").formulation == Formulation(merge_low=True)
    assert conv.export_form().formulation == RULE
