"""Data sets (``DATASETS``), batch samplers (``SAMPLERS``) and transforms (``TRANSFORMS``) registered by name
for configs; :func:`build_dataset` builds a validated config entry (or its ``fallback:`` when the data is missing)."""

import inspect
import sys

from ..registry import DATASETS, register_dataset
from . import augment, paddleclas_ops  # noqa: F401  (register PaddleClas's ops)
from .cifar import Cifar10
from .common import DataNotFoundError
from .custom_label import CustomLabelDataset
from .det_samples import collate_detection, detection_loader
from .digits import Digits
from .folder import ImageFolder
from .imagenet import ImageNetDataset
from .multi_scale import MultiScaleDataset, MultiScaleSampler
from .multilabel_dataset import MultiLabelDataset
from .samplers import SAMPLERS, RASampler, build_batch_sampler
from .shapes import Shapes
from .transforms import TRANSFORMS, build_transforms
from .voc import VOC_CLASSES, VOCDetection

_NOT_KWARGS = ("name", "transform_ops", "batch_transform_ops", "fallback", "batch_size", "num_workers")


def _build_one(entry, num_classes):
    """A data set taking ``transform_ops`` builds its transforms itself (per image size)."""
    kwargs = {k: v for k, v in entry.items() if k not in _NOT_KWARGS}
    builder = DATASETS.get(entry["name"])
    if "transform_ops" in inspect.signature(builder).parameters:
        kwargs["transform_ops"] = entry.get("transform_ops")
    else:
        kwargs["transform"] = build_transforms(entry.get("transform_ops"))
    return builder(num_classes=num_classes, **kwargs)


def build_dataset(entry, num_classes=None, key="DataLoader.Train.dataset"):
    """``(dataset, used_entry)`` of a validated config ``entry``: its ``fallback`` entry, after a warning, when
    the data is missing (:class:`DataNotFoundError`) and one is set."""
    try:
        return _build_one(entry, num_classes), entry
    except DataNotFoundError as exc:
        fallback = entry.get("fallback")
        if fallback is None:
            raise DataNotFoundError(f"{key} ({entry['name']}): {exc}") from None
        print(f"WARNING: {key}: {entry['name']} data is missing ({exc}); FALLING BACK to {fallback['name']} "
              f"{ {k: v for k, v in fallback.items() if k not in _NOT_KWARGS} }. "
              f"To make this an error instead: -o {key}.fallback=null", file=sys.stderr, flush=True)
        return _build_one(fallback, num_classes), fallback


__all__ = ["DATASETS", "SAMPLERS", "TRANSFORMS", "VOC_CLASSES", "Cifar10", "CustomLabelDataset", "DataNotFoundError",
           "Digits", "ImageFolder", "ImageNetDataset", "MultiLabelDataset", "MultiScaleDataset", "MultiScaleSampler",
           "RASampler", "Shapes", "VOCDetection", "build_batch_sampler", "build_dataset", "build_transforms",
           "collate_detection", "detection_loader", "register_dataset"]
