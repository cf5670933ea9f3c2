"""Export with ``paddle.jit.save`` and run with the Paddle Inference predictor (oneDNN on CPU, else the GPU)."""

import os

import numpy as np
import paddle
from paddle.static import InputSpec

from ..device import available_device, resolve_device
from ..errors import ConfigError, WeightsError
from ..io import check_user_file


def export_model(model, prefix, input_shape=(None, 3, None, None), dtype="float32"):
    """Save ``model`` in eval mode at ``prefix`` (None in ``input_shape``: free); return the files written."""
    was_training = model.training
    model.eval()
    try:
        paddle.jit.save(model, prefix, input_spec=[InputSpec(list(input_shape), dtype, "x")])
    finally:
        if was_training:
            model.train()
    return list(model_files(prefix))


def model_files(prefix):
    """``(program, params)`` of an export: ``.json`` (Paddle 3) or ``.pdmodel`` (Paddle 2); WeightsError if none."""
    params = prefix + ".pdiparams"
    for ext in (".json", ".pdmodel"):
        if os.path.exists(prefix + ext) and os.path.exists(params):
            return prefix + ext, params
    raise WeightsError(
        f"no exported model at {prefix!r}: expected {prefix}.json (Paddle 3) or {prefix}.pdmodel (Paddle 2) "
        f"and {params}; run tools/export.py first"
    )


class Predictor:
    """A Paddle Inference predictor over the export at ``prefix``: ``predictor(x [N, C, H, W])`` -> output arrays.

    ``device``: ``"auto"`` (default), ``"cpu"``, ``"gpu"`` or ``"gpu:N"``; ``threads``: CPU math threads;
    ``mkldnn``: oneDNN on CPU."""

    def __init__(self, prefix, device=None, threads=None, mkldnn=True):
        from paddle import inference

        program, params = model_files(prefix)
        for path in (program, params):  # Paddle reads them itself: a FIFO would hang it, /dev/zero fill memory
            check_user_file(path, "exported model", "exported model file")
        if device == "gpu" and available_device() != "gpu":
            raise ConfigError("device gpu: this Paddle build has no CUDA or sees no GPU; use device cpu "
                              "(--device cpu), or install paddlepaddle-gpu on a machine with a GPU")
        self.device = resolve_device(device or "auto", key="device")
        config = inference.Config(program, params)
        if self.device != "cpu":
            config.enable_use_gpu(256, int(self.device.partition(":")[2]))
        else:
            config.disable_gpu()
            if mkldnn:
                config.enable_mkldnn()
            else:  # Paddle 3 turns oneDNN on by default on CPU
                config.disable_mkldnn()
            if threads:
                config.set_cpu_math_library_num_threads(int(threads))
        config.disable_glog_info()
        try:
            self._predictor = inference.create_predictor(config)
        except Exception as exc:  # Paddle's RuntimeError/ValueError on a truncated, empty or foreign file
            raise WeightsError(f"cannot load the exported model {program} + {params} ({_first_line(exc)}); the files "
                               "are damaged or not a Paddle inference model: export it again with tools/export.py"
                               ) from None
        self.program = program

    def __call__(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        handle = self._predictor.get_input_handle(self._predictor.get_input_names()[0])
        handle.reshape(list(x.shape))
        handle.copy_from_cpu(x)
        try:
            self._predictor.run()
        except Exception as exc:  # Paddle's errors of a model that does not take this input
            raise WeightsError(f"the exported model {self.program} cannot run on an input of shape {list(x.shape)} "
                               f"({_first_line(exc)}); was it exported from this config? export it again") from None
        return [self._predictor.get_output_handle(n).copy_to_cpu() for n in self._predictor.get_output_names()]


def _first_line(exc):
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
