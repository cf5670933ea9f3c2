"""paddle_conv: modern convolution variants for PaddlePaddle, with a PyTorch weight bridge (docs/api.md)."""

from .cpu_math import use_vector_mkl_on_amd

use_vector_mkl_on_amd()  # before any MKL call: Paddle's GEMM on AMD CPUs, see cpu_math

from . import layers, models, refconv  # noqa: E402,F401  (importing models and refconv fills the registries)
from .cards import KeyMapping, ModelCard, WeightEntry  # noqa: E402
from .errors import ConfigError, DataError, PaddleConvError, UnknownNameError, WeightsError  # noqa: E402
from .factory import create_model, list_pretrained  # noqa: E402
from .fuse import fuse  # noqa: E402
from .registry import list_models, model_card, register_model  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name):
    """``register_into_ppcls``, imported on first use (so ``python -m paddle_conv.deploy.paddleclas`` runs cleanly)."""
    if name == "register_into_ppcls":
        from .deploy.paddleclas import register_into_ppcls

        return register_into_ppcls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ConfigError",
    "DataError",
    "PaddleConvError",
    "UnknownNameError",
    "WeightsError",
    "create_model",
    "fuse",
    "list_models",
    "list_pretrained",
    "model_card",
    "KeyMapping",
    "ModelCard",
    "WeightEntry",
    "register_into_ppcls",
    "register_model",
    "__version__",
]
