"""Every OctConv formulation of paddle_conv.deploy.octconv_rewrite equals the layer (1e-5), in
dygraph and in a static graph; paddle_conv.deploy.export with the rewritten OctConv equals dygraph
in Paddle Inference for both octave families; --tune's choice is cached per machine and shape."""

import json

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.deploy import Predictor, export, octconv_tune
from paddle_conv.deploy.octconv_rewrite import RULE, ExportOctaveConv, Formulation, candidates, rewrite_octconv
from paddle_conv.layers.octconv import OctaveConv
from tests.deploy.randomized import randomize_batchnorm

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
        static = paddle.jit.to_static(octconv_tune.BranchInputs(layer), input_spec=specs, full_graph=True)
        with paddle.no_grad():
            _close(static(*xs), [w for w in want if w is not None])


def test_a_formulation_that_does_not_fit_is_refused():
    conv, _ = _layer_and_input(LAYERS["3x3"])
    with pytest.raises(ValueError, match="merge_high"):
        ExportOctaveConv(conv, Formulation(merge_high=True))


@pytest.mark.parametrize("name,shape,octconv", [("oct_mobilenet", [2, 3, 32, 32], "merge_high+merge_low+broadcast"),
                                                ("oct_resnet26", [1, 3, 32, 32], "dense"),
                                                ("oct_resnet26", [1, 3, 32, 32], None)])
def test_export_rewrites_every_octconv_and_matches_dygraph(name, shape, octconv, tmp_path):
    model = randomize_batchnorm(pc.create_model(name, num_classes=5))
    model.eval()
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    want = model(paddle.to_tensor(x)).numpy()
    result = export(model, str(tmp_path / "inference"), input_shape=shape, octconv=octconv)
    kinds = [type(layer) for layer in result["model"].sublayers()]
    assert OctaveConv not in kinds and ExportOctaveConv in kinds
    used = {layer.formulation for layer in result["model"].sublayers() if isinstance(layer, ExportOctaveConv)}
    if octconv is None:
        assert used == {RULE}
    else:  # applied wherever it fits (oct_mobilenet's 1x1 layers), the rest part by part
        assert Formulation.parse(octconv) in used
    got = Predictor(result["prefix"], device="cpu", threads=1)(x)[0]
    assert float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1.0) <= 1e-5


def test_tune_times_each_layer_shape_once_per_machine_and_caches_the_winner(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    timed = []

    def fake_timer(conv, h_shape, l_shape):  # pretend merge_high wins wherever it applies
        timed.append(octconv_tune.layer_key(conv, h_shape, l_shape))
        return {f.name: (0.5 if f.merge_high else 1.0) + 0.01 * i for i, f in enumerate(candidates(conv))}

    monkeypatch.setattr(octconv_tune, "time_candidates", fake_timer)
    model = pc.create_model("oct_mobilenet", num_classes=5)
    model.eval()
    chosen = rewrite_octconv(model, [1, 3, 32, 32], choose=octconv_tune.fastest_formulation)
    assert len(timed) == len(set(timed)) and 0 < len(timed) < len(chosen)  # one timing per distinct shape
    assert "merge_high+deconv" in chosen.values()
    cache = json.loads((tmp_path / "paddle_conv" / "octconv_tune.json").read_text())
    assert list(cache) == [octconv_tune.machine_key()] and len(cache[octconv_tune.machine_key()]) == len(timed)
    timed.clear()
    again = rewrite_octconv(pc.create_model("oct_mobilenet", num_classes=5), [1, 3, 32, 32],
                            choose=octconv_tune.fastest_formulation)
    assert timed == [] and again == chosen
