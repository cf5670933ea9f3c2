"""Data sets and transforms, registered by name for configs (``DataLoader.Train.dataset.name``).

Registered data sets: ``Cifar10``, ``ImageNetDataset`` (PaddleClas list file),
``MultiScaleDataset`` (the same, one image size per batch), ``CustomLabelDataset`` (a transform makes
the label), ``ImageFolder`` and ``Digits``
(scikit-learn's bundled digits); batch samplers (``SAMPLERS``): ``DistributedBatchSampler``,
``RASampler``, ``MultiScaleSampler``. :func:`build_dataset` builds one from a
validated config entry, and switches to the entry's ``fallback:`` when the data is missing.
"""

import inspect
import sys

from ..registry import DATASETS, register_dataset
from . import augment, paddleclas_ops  # noqa: E402,F401  (register PaddleClas's ops)
from .cifar import Cifar10  # noqa: E402
from .common import DataNotFoundError  # noqa: E402
from .custom_label import CustomLabelDataset  # noqa: E402
from .det_samples import collate_detection, detection_loader  # noqa: E402
from .digits import Digits  # noqa: E402
from .folder import ImageFolder  # noqa: E402
from .imagenet import ImageNetDataset  # noqa: E402
from .multi_scale import MultiScaleDataset, MultiScaleSampler  # noqa: E402
from .multilabel import MultiLabelDataset  # noqa: E402
from .samplers import SAMPLERS, RASampler, build_batch_sampler  # noqa: E402
from .shapes import Shapes  # noqa: E402
from .transforms import TRANSFORMS, build_transforms  # noqa: E402
from .voc import VOC_CLASSES, VOCDetection  # noqa: E402

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
    """Build the data set of a validated config ``entry``; return ``(dataset, used_entry)``.

    If its data is missing (:class:`DataNotFoundError`) and ``entry["fallback"]`` is set, the
    fallback is built instead, after a one-line warning on stderr naming what was missing and
    the override that turns the fallback off; ``used_entry`` is then the fallback entry
    (whose optional ``batch_size`` and ``num_workers`` replace the sampler's and loader's).
    Without a fallback the error is raised with that hint.
    """
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
           "Digits",
           "ImageFolder", "ImageNetDataset", "MultiLabelDataset", "MultiScaleDataset", "MultiScaleSampler", "RASampler",
           "Shapes",
           "VOCDetection", "build_batch_sampler", "build_dataset", "build_transforms", "collate_detection",
           "detection_loader", "register_dataset"]
