"""ONNX: convert an exported Paddle inference model with ``paddle2onnx``, run it with ONNX Runtime (both
optional: ``pip install -e ".[onnx]"``; without them the functions here raise PaddleConvError)."""

import importlib
import numbers
import os

import numpy as np

from ..errors import PaddleConvError, WeightsError
from ..io import atomic_write, check_user_file
from .inference import model_files
from .onnx_rewrite import upsampling_as_resize

#: The opsets paddle2onnx 2.1 can write (it aborts the whole process on any other value).
OPSET_RANGE = (7, 21)
DEFAULT_OPSET = 13


def _require(module):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PaddleConvError(
            f"ONNX export/inference needs the '{module}' package, which is not installed ({exc}); "
            f'install the extra: pip install -e ".[onnx]"'
        ) from None


def onnx_available():
    """``(True, "")`` when paddle2onnx and onnxruntime import, else ``(False, reason)``."""
    for module in ("paddle2onnx", "onnxruntime"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return False, f"{module} is not installed ({exc}); pip install -e '.[onnx]'"
    return True, ""


def check_onnx_export(opset_version):
    """``(paddle2onnx, onnx)``; PaddleConvError unless they import and ``opset_version`` is one paddle2onnx writes."""
    low, high = OPSET_RANGE
    if isinstance(opset_version, bool) or not isinstance(opset_version, numbers.Integral) \
            or not low <= opset_version <= high:
        raise PaddleConvError(
            f"ONNX opset {opset_version} is outside what paddle2onnx supports ({low}..{high}); "
            f"pass e.g. --opset {DEFAULT_OPSET}"
        )
    return _require("paddle2onnx"), _require("onnx")


def export_onnx(prefix, path, opset_version=DEFAULT_OPSET, resize_upsampling=True):
    """Convert the inference model at ``prefix`` to ONNX at ``path`` (atomically); return the opset the file uses
    (paddle2onnx raises it where an operator needs it). ``resize_upsampling``: :mod:`.onnx_rewrite`."""
    paddle2onnx, onnx = check_onnx_export(opset_version)
    program, params = model_files(prefix)

    def convert(tmp):
        try:
            # no Polygraphy pass: it may pip-install packages at run time (POLYGRAPHY_AUTOINSTALL_DEPS)
            paddle2onnx.export(program, params, tmp, opset_version=int(opset_version), optimize_tool="none")
        except Exception as exc:  # paddle2onnx logs its own errors and then fails on an unset variable
            raise PaddleConvError(
                f"paddle2onnx could not convert {program}: {type(exc).__name__}: {exc}. An operator of "
                f"the model has no ONNX conversion at opset {opset_version}; try a higher --opset "
                f"(at most {OPSET_RANGE[1]}), or deploy with Paddle Inference (tools/infer.py)"
            ) from None
        if os.path.getsize(tmp) == 0:
            raise PaddleConvError(f"paddle2onnx wrote nothing for {program}; see its log above")
        if resize_upsampling:
            converted = onnx.load(tmp)
            if upsampling_as_resize(converted):
                onnx.save(converted, tmp)

    atomic_write(path, convert)
    model = onnx.load(path, load_external_data=False)
    return max(op.version for op in model.opset_import if op.domain in ("", "ai.onnx"))


class OnnxPredictor:
    """ONNX Runtime (CPU) session: ``predictor(x [N, C, H, W])`` -> output arrays, as :class:`.Predictor`."""

    def __init__(self, path, threads=None):
        ort = _require("onnxruntime")
        if not os.path.lexists(path):
            raise WeightsError(f"no ONNX model at {path!r}; run tools/export.py --onnx first")
        check_user_file(path, "exported model", "ONNX model")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: ORT warns about every folded initializer
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT's errors (InvalidProtobuf, Fail, ...) derive from Exception only
            problem = " ".join(str(exc).split())[:200]
            raise WeightsError(f"ONNX Runtime cannot load {path!r} ({type(exc).__name__}: {problem}); "
                               "export it again with tools/export.py --onnx") from None
        self._input = self._session.get_inputs()[0].name

    def __call__(self, x):
        return self._session.run(None, {self._input: np.ascontiguousarray(x, dtype=np.float32)})
