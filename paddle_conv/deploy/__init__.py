"""Deployment: export a model for Paddle Inference or ONNX and run it; PaddleClas integration."""

from .export import export  # noqa: E402  (after the submodules it uses; the name shadows the module)
from .inference import Predictor, export_model, model_files
from .onnx import OnnxPredictor, export_onnx

__all__ = ["OnnxPredictor", "Predictor", "export", "export_model", "export_onnx", "model_files"]
