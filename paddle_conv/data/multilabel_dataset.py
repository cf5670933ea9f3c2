"""PaddleClas's multi-label list data set (attribute recognition: PULC person/vehicle attributes, Attr/)."""

import os

import numpy as np
import paddle

from ..errors import DataError
from ..registry import register_dataset
from .common import list_lines, load_sample, require_path


@register_dataset
class MultiLabelDataset(paddle.io.Dataset):
    """Images listed in ``cls_label_path`` with one 0/1/-1 (unknown) label per attribute, as PaddleClas's; items
    ``(transform(image), float32 labels [C])``, or ``[2, C]`` with ``label_ratio``: each attribute's mean label too."""

    def __init__(self, image_root, cls_label_path, label_ratio=False, delimiter="\t", transform=None,
                 num_classes=None):
        require_path(image_root, "image root", "dataset.image_root")
        rows = []  # (relative path, [0/1/-1 per attribute], "file:line")
        for line, where in list_lines(cls_label_path, "label list", "dataset.cls_label_path"):
            parts = line.split(delimiter)
            try:
                labels = [int(v) for v in parts[1].split(",")] if len(parts) == 2 else None
            except ValueError:
                labels = None
            if labels is None or any(v not in (-1, 0, 1) for v in labels):
                raise DataError(f"{where}: expected 'relative/path.jpg<TAB>0,1,...' (1: has the attribute, 0: "
                                f"has not, -1: unknown), got {len(parts)} fields or labels other than 0, 1, -1")
            rows.append((parts[0], labels, where))
        if not rows:
            raise DataError(f"{cls_label_path}: the label list has no entries; add one "
                            "'relative/path.jpg<TAB>0,1,...' line per image")
        for _, labels, where in rows:
            if len(labels) != (num_classes or len(rows[0][1])):
                raise DataError(f"{where}: {len(labels)} labels, but Arch.class_num is "
                                f"{num_classes or len(rows[0][1])}; give one label per attribute")
        self.image_root, self.transform = image_root, transform
        self.samples = [(os.path.join(image_root, p), np.array(v, dtype="float32"), w) for p, v, w in rows]
        labels = np.stack([v for _, v, _ in self.samples])
        self.ratio = labels.mean(0).astype("float32") if label_ratio else None  # as PaddleClas: -1 counts

    def __getitem__(self, idx):
        path, labels, where = self.samples[idx]
        image = load_sample(path, self.transform, f"listed at {where}")
        return image, labels if self.ratio is None else np.stack([labels, self.ratio])

    def __len__(self):
        return len(self.samples)
