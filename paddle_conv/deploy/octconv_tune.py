"""Choose an OctaveConv's formulation by timing the candidates on this machine (``--tune``).

Each candidate of :func:`~paddle_conv.deploy.octconv_rewrite.candidates` is exported alone at
the layer's input shapes and run in the Paddle Inference predictor (oneDNN on CPU, the GPU on a
GPU machine), round-robin so that a change in the machine's load hits every candidate alike;
the lowest median wins. Results are cached per machine (CPU model, cores, Paddle version,
device) and layer shape in ``$XDG_CACHE_HOME/paddle_conv/octconv_tune.json`` (default
``~/.cache``), so a model is tuned once per machine.
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
from .octconv_rewrite import ExportOctaveConv, Formulation, applies, candidates

__all__ = ["cache_path", "fastest_formulation", "layer_key", "machine_key"]

ROUNDS, WARMUP = 7, 2


def cache_path():
    """The tuning cache file under the user cache directory."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "paddle_conv", "octconv_tune.json")


def machine_key():
    """What makes timings of this machine comparable: CPU model, cores, Paddle version, device."""
    return f"{cpu_model()} x{os.cpu_count()} paddle {paddle.__version__} {available_device()}"


def layer_key(conv, h_shape, l_shape):
    """The layer's shape: channels, kernel, stride, groups and the input shapes."""
    parts = [f"c{conv.channels_in}->{conv.channels_out}", f"k{conv.conv_h2h._kernel_size[0]}",
             f"s{conv.stride}", f"g{conv.conv_h2h._groups}", f"xh{h_shape}", f"xl{l_shape}"]
    return " ".join(parts).replace(" ", "")


def _load_cache(path):
    try:
        cache = read_json(path, str, "tuning cache")
        return cache if isinstance(cache, dict) else {}
    except WeightsError:  # absent, damaged or not a regular file: tune again
        return {}


class _Timed:
    """One candidate exported alone and loaded in a predictor with one input per branch."""

    def __init__(self, layer, shapes, workdir):
        from paddle import inference

        from .inference import model_files

        prefix = os.path.join(workdir, f"cand{id(layer)}")
        specs = [InputSpec(s, "float32", f"x{i}") for i, s in enumerate(shapes)]
        paddle.jit.save(BranchInputs(layer), prefix, input_spec=specs)
        config = inference.Config(*model_files(prefix))
        if available_device() == "gpu":
            config.enable_use_gpu(256, 0)
        else:
            config.disable_gpu()
            config.enable_mkldnn()
        config.disable_glog_info()
        self.predictor = inference.create_predictor(config)
        rng = np.random.default_rng(0)
        for name, shape in zip(self.predictor.get_input_names(), shapes):
            handle = self.predictor.get_input_handle(name)
            handle.reshape(shape)
            handle.copy_from_cpu(rng.standard_normal(shape).astype("float32"))

    def __call__(self):
        start = time.perf_counter()
        self.predictor.run()
        return time.perf_counter() - start


class BranchInputs(paddle.nn.Layer):
    """Takes ``x_h`` (and ``x_l``) as separate inputs, for export."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x_h, x_l=None):
        return [y for y in self.layer(x_h if x_l is None else (x_h, x_l)) if y is not None]


def time_candidates(conv, h_shape, l_shape):
    """``{formulation name: median seconds}`` of every candidate of ``conv`` at these input shapes."""
    shapes = [h_shape] + ([l_shape] if l_shape is not None else [])
    cands = candidates(conv)
    with tempfile.TemporaryDirectory() as workdir:
        timed = {f.name: _Timed(ExportOctaveConv(copy.deepcopy(conv), f), shapes, workdir) for f in cands}
        for run in timed.values():
            for _ in range(WARMUP):
                run()
        times = {name: [] for name in timed}
        for _ in range(ROUNDS):
            for name, run in timed.items():
                times[name].append(run())
    return {name: float(np.median(t)) for name, t in times.items()}


def fastest_formulation(conv, h_shape, l_shape, path=None):
    """The fastest formulation of ``conv`` at these input shapes on this machine (cached)."""
    only = candidates(conv)
    if len(only) == 1 or h_shape is None:  # nothing to choose (e.g. no high-frequency input)
        return only[0]
    path = path or cache_path()
    cache = _load_cache(path)
    machine = cache.setdefault(machine_key(), {})
    key = layer_key(conv, h_shape, l_shape)
    if key not in machine or not applies(conv, Formulation.parse(machine[key]["best"])):
        times = time_candidates(conv, h_shape, l_shape)
        machine[key] = {"best": min(times, key=times.get), "ms": {k: round(1000 * v, 4) for k, v in times.items()}}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_json_save(cache, path)
    return Formulation.parse(machine[key]["best"])
