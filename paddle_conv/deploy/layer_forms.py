"""Replace every layer offering inference forms by one: the rule, a named one, or the fastest here.

A layer offers ``export_forms()`` (the names of its exact inference forms, the rule first) and
``export_form(name=None)`` (the layer computing form ``name``). ``form="tune"`` times each layer's forms in the
Paddle Inference predictor, cached per machine and layer shapes in :func:`cache_path`.
"""

import copy
import os
import tempfile
import time

import numpy as np
import paddle
from paddle.static import InputSpec

from ..device import available_device, cpu_model
from ..errors import WeightsError
from ..io import atomic_json_save, read_json
from .inference import Predictor

__all__ = ["cache_path", "fastest_form", "machine_key", "rewrite_layers"]

ROUNDS, WARMUP = 7, 2


def _shapes(value):
    """``[shape or None, ...]`` of a tensor (one) or a tuple of tensors and Nones."""
    items = value if isinstance(value, (tuple, list)) else [value]
    return [None if t is None else list(t.shape) for t in items]


def _layer_io(model, input_shape):
    """``{id(layer): (input of shapes, output of shapes)}`` of every layer offering ``export_forms``, from one
    forward pass on zeros of ``input_shape``; an input given as a tuple is marked by a leading ``"tuple"``."""
    found = {}

    def record(layer, inputs, output):
        x = inputs[0]
        found[id(layer)] = (["tuple"] * isinstance(x, (tuple, list)) + _shapes(x), _shapes(output))

    hooks = [layer.register_forward_post_hook(record) for layer in model.sublayers() if hasattr(layer, "export_forms")]
    try:
        with paddle.no_grad():
            model(paddle.zeros(list(input_shape)))
    finally:
        for hook in hooks:
            hook.remove()
    return found


class SeparateInputs(paddle.nn.Layer):
    """``layer`` taking its input tuple's tensors (``slots``: its items, None where it holds None; None for one
    tensor) as up to four separate inputs, returning its outputs that are not None (for export)."""

    def __init__(self, layer, slots=None):
        super().__init__()
        self.layer, self.slots = layer, slots

    def forward(self, x0, x1=None, x2=None, x3=None):
        if self.slots is None:
            x = x0
        else:
            given = iter((x0, x1, x2, x3))
            x = tuple(None if s is None else next(given) for s in self.slots)
        out = self.layer(x)
        return [y for y in out if y is not None] if isinstance(out, (tuple, list)) else out


def _timed(layer, io, workdir):
    """A callable timing one run of ``layer`` exported alone, in a predictor with one random input per tensor."""
    inputs = io[0][1:] if io[0][:1] == ["tuple"] else io[0]
    shapes = [s for s in inputs if s is not None]
    prefix = os.path.join(workdir, f"form{id(layer)}")
    specs = [InputSpec(s, "float32", f"x{i}") for i, s in enumerate(shapes)]
    paddle.jit.save(SeparateInputs(layer, inputs if io[0][:1] == ["tuple"] else None), prefix, input_spec=specs)
    predictor = Predictor(prefix)._predictor  # oneDNN on CPU, else the GPU
    rng = np.random.default_rng(0)
    for name, shape in zip(predictor.get_input_names(), shapes):
        handle = predictor.get_input_handle(name)
        handle.reshape(shape)
        handle.copy_from_cpu(rng.standard_normal(shape).astype("float32"))

    def run():
        start = time.perf_counter()
        predictor.run()
        return time.perf_counter() - start
    return run


def time_forms(layer, io):
    """``{form name: median seconds}`` of every form of ``layer`` at its input shapes ``io`` (:func:`_layer_io`)."""
    with tempfile.TemporaryDirectory() as workdir:
        timed = {name: _timed(copy.deepcopy(layer).export_form(name), io, workdir) for name in layer.export_forms()}
        for run in timed.values():
            for _ in range(WARMUP):
                run()
        times = {name: [] for name in timed}
        for _ in range(ROUNDS):
            for name, run in timed.items():
                times[name].append(run())
    return {name: float(np.median(t)) for name, t in times.items()}


def cache_path():
    """``$XDG_CACHE_HOME/paddle_conv/export_forms.json`` (default ``~/.cache``)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "paddle_conv", "export_forms.json")


def machine_key():
    """What makes timings of this machine comparable: CPU model, cores, Paddle version, device."""
    return f"{cpu_model()} x{os.cpu_count()} paddle {paddle.__version__} {available_device()}"


def layer_key(layer, io):
    """The layer's class, input and output shapes and parameter shapes (what its timings depend on)."""
    params = [list(p.shape) for _, p in layer.named_parameters()]
    return f"{type(layer).__name__} in{io[0]} out{io[1]} p{params}".replace(" ", "")


def fastest_form(layer, io, path=None):
    """The name of the fastest form of ``layer`` at its shapes ``io`` on this machine (cached at ``path``)."""
    names = layer.export_forms()
    if len(names) == 1:
        return names[0]
    path = path or cache_path()
    try:
        cache = read_json(path, str, "tuning cache")
    except WeightsError:  # absent, damaged or not a regular file: tune again
        cache = {}
    cache = cache if isinstance(cache, dict) else {}
    machine = cache.setdefault(machine_key(), {})
    key = layer_key(layer, io)
    if machine.get(key, {}).get("best") not in names:
        times = time_forms(layer, io)
        machine[key] = {"best": min(times, key=times.get), "ms": {k: round(1000 * v, 4) for k, v in times.items()}}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_json_save(cache, path)
    return machine[key]["best"]


def rewrite_layers(model, input_shape, form=None):
    """Replace in place every layer of ``model`` offering ``export_forms`` by its form: the rule (``form`` None or
    ``"rule"``), the fastest at ``input_shape`` (``"tune"``) or the one named ``form``; ``"layer"`` keeps them.
    Returns ``{layer path: form name}``."""
    offering = [(path, layer) for path, layer in model.named_sublayers() if hasattr(layer, "export_forms")]
    if form == "layer" or not offering:
        return {}
    parents = {id(child): (parent, name) for _, parent in model.named_sublayers(include_self=True)
               for name, child in parent.named_children()}
    shapes = _layer_io(model, input_shape) if form == "tune" else {}
    chosen = {}
    for path, layer in offering:
        if form not in (None, "rule", "tune"):
            chosen[path] = form
        elif id(layer) in shapes:
            chosen[path] = fastest_form(layer, shapes[id(layer)])
        else:  # the rule (or a layer the forward pass does not reach)
            chosen[path] = layer.export_forms()[0]
        setattr(*parents[id(layer)], layer.export_form(chosen[path]))
    return chosen
