"""Training: the loops, their callbacks and checkpoints. Nothing else lives here.

:func:`train` runs a validated config, classification or detection (dispatching on its task);
:func:`evaluate` evaluates a classification config's weights. The parts a run is built from
(model, loss, optimizer, data) come from :mod:`paddle_conv.build`; configs from
:mod:`paddle_conv.config`.

Modules: :mod:`.trainer` (classification with ``paddle.Model``), :mod:`.det_trainer` (SSD
knowledge distillation), :mod:`.callbacks`, :mod:`.atomic_checkpoint` (atomic, resumable checkpoints),
:mod:`.visualdl_extras`.
"""

from typing import Any, Dict

from .atomic_checkpoint import load_checkpoint, load_checkpoint_meta, save_checkpoint
from .callbacks import TrainingDivergedError
from .det_trainer import train_distillation
from .trainer import evaluate, train_classifier

__all__ = ["TrainingDivergedError", "evaluate", "load_checkpoint", "load_checkpoint_meta", "save_checkpoint",
           "task_of", "train", "train_classifier", "train_distillation"]


def task_of(cfg: Dict[str, Any]) -> str:
    """``"detection"`` for a detection-distillation config (``Teacher``/``Student``), else ``"classification"``."""
    return "detection" if "Teacher" in cfg or "Student" in cfg else "classification"


def train(cfg: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
    """Train a validated config: :func:`train_classifier` (keyword arguments go to it) or, for a
    detection config, :func:`train_distillation`. Returns the trainer's summary dict."""
    if task_of(cfg) == "detection":
        return train_distillation(cfg, **kwargs)
    return train_classifier(cfg, **kwargs)
