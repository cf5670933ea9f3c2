"""Data sets, registered by name for configs (``DataLoader.Train.dataset.name``)."""

from ..registry import Registry

DATASETS = Registry("dataset")
register_dataset = DATASETS.register
