"""Deployment: export a model for Paddle Inference and run it with the predictor."""

from .inference import Predictor, export_model, model_files

__all__ = ["Predictor", "export_model", "model_files"]
