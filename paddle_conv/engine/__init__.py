"""Training: the loops (:mod:`.trainer`, :mod:`.det_trainer`), their callbacks and checkpoints;
the parts of a run come from :mod:`paddle_conv.build`."""

from typing import Any, Dict

from .atomic_checkpoint import load_checkpoint, load_checkpoint_meta, save_checkpoint
from .callbacks import TrainingDivergedError
from .det_trainer import train_distillation
from .trainer import evaluate, train_classifier

__all__ = ["TrainingDivergedError", "evaluate", "load_checkpoint", "load_checkpoint_meta", "save_checkpoint",
           "train", "train_classifier", "train_distillation"]


def train(cfg: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
    """Train a validated config: :func:`train_distillation` for a detection config (``Teacher``/``Student``),
    else :func:`train_classifier` (keyword arguments go to it). Returns the trainer's summary dict."""
    if "Teacher" in cfg or "Student" in cfg:
        return train_distillation(cfg, **kwargs)
    return train_classifier(cfg, **kwargs)
