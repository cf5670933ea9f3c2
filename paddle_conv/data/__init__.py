"""Data sets, registered by name for configs (``DataLoader.Train.dataset.name``)."""

from ..registry import Registry

DATASETS = Registry("dataset")
register_dataset = DATASETS.register

from .detection import collate_detection  # noqa: E402
from .shapes import Shapes  # noqa: E402  (registers)
from .voc import VOC_CLASSES, VOCDetection  # noqa: E402  (registers)

__all__ = ["DATASETS", "VOC_CLASSES", "Shapes", "VOCDetection", "collate_detection", "register_dataset"]
