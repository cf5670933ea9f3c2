"""paddle_conv.deploy.layer_forms: export replaces every layer offering inference forms (OctConv's) and the
result equals dygraph in Paddle Inference for both octave families; --tune's choice is cached per machine
and layer shape."""

import json

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.deploy import Predictor, export, layer_forms
from paddle_conv.layers.octconv import RULE, ExportOctaveConv, Formulation, OctaveConv
from tests.deploy.randomized import randomize_batchnorm


@pytest.mark.parametrize("name,shape,form", [("oct_mobilenet", [2, 3, 32, 32], "merge_high+merge_low+broadcast"),
                                                ("oct_resnet26", [1, 3, 32, 32], "dense"),
                                                ("oct_resnet26", [1, 3, 32, 32], None)])
def test_export_rewrites_every_octconv_and_matches_dygraph(name, shape, form, tmp_path):
    model = randomize_batchnorm(pc.create_model(name, num_classes=5))
    model.eval()
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    want = model(paddle.to_tensor(x)).numpy()
    result = export(model, str(tmp_path / "inference"), input_shape=shape, form=form)
    kinds = [type(layer) for layer in result["model"].sublayers()]
    assert OctaveConv not in kinds and ExportOctaveConv in kinds
    used = {layer.formulation for layer in result["model"].sublayers() if isinstance(layer, ExportOctaveConv)}
    if form is None:
        assert used == {RULE}
    else:  # applied wherever it fits (oct_mobilenet's 1x1 layers), the rest part by part
        assert Formulation.parse(form) in used
    got = Predictor(result["prefix"], device="cpu", threads=1)(x)[0]
    assert float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1.0) <= 1e-5


def test_tune_times_each_layer_shape_once_per_machine_and_caches_the_winner(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    timed = []

    def fake_timer(layer, io):  # pretend merge_high wins wherever it applies
        timed.append(layer_forms.layer_key(layer, io))
        return {name: (0.5 if "merge_high" in name else 1.0) + 0.01 * i for i, name in enumerate(layer.export_forms())}

    monkeypatch.setattr(layer_forms, "time_forms", fake_timer)
    model = pc.create_model("oct_mobilenet", num_classes=5)
    model.eval()
    chosen = layer_forms.rewrite_layers(model, [1, 3, 32, 32], "tune")
    assert len(timed) == len(set(timed)) and 0 < len(timed) < len(chosen)  # one timing per distinct shape
    assert "merge_high+deconv" in chosen.values()
    assert not any(isinstance(layer, OctaveConv) for layer in model.sublayers())
    cache = json.loads((tmp_path / "paddle_conv" / "export_forms.json").read_text())
    assert list(cache) == [layer_forms.machine_key()] and len(cache[layer_forms.machine_key()]) == len(timed)
    timed.clear()
    again = layer_forms.rewrite_layers(pc.create_model("oct_mobilenet", num_classes=5), [1, 3, 32, 32], "tune")
    assert timed == [] and again == chosen


def test_tuning_times_the_forms_in_the_predictor(tmp_path):
    conv = OctaveConv(8, 8, 1, 0.5, 0.5)
    conv.eval()
    times = layer_forms.time_forms(conv, (["tuple", [1, 4, 8, 8], [1, 4, 4, 4]], [[1, 4, 8, 8], [1, 4, 4, 4]]))
    assert set(times) == set(conv.export_forms()) and all(t > 0 for t in times.values())


def test_a_model_without_such_layers_is_left_as_it_is():
    model = pc.create_model("mobilenet_v1", num_classes=5)
    assert layer_forms.rewrite_layers(model, [1, 3, 32, 32], "tune") == {}
