"""PaddleClas's list-file data set: ``image_root`` + a list of ``relative/path.jpg label`` lines."""

import os
import re

import paddle

from ..errors import DataError
from ..registry import register_dataset
from .common import as_label, check_label, list_lines, load_sample, require_path


@register_dataset
class ImageNetDataset(paddle.io.Dataset):
    """Images listed in ``cls_label_path``, one ``relative/path.jpg label`` per line (``delimiter`` None: any
    whitespace), checked when built; items ``(transform(image), int64 label [1])`` (:func:`.common.load_sample`)."""

    def __init__(self, image_root, cls_label_path, delimiter=None, transform=None, num_classes=None):
        require_path(image_root, "image root", "dataset.image_root")
        self.image_root, self.transform = image_root, transform
        self.samples = []  # (path, label, "list:line")
        for line, where in list_lines(cls_label_path, "label list", "dataset.cls_label_path"):
            parts = line.rsplit(delimiter, 1) if delimiter else line.split()
            if len(parts) != 2 or not re.fullmatch(r"-?[0-9]+", parts[1].strip()):
                sep = f"{delimiter!r} (dataset.delimiter)" if delimiter else "whitespace"
                got = f"{len(parts)} fields" if len(parts) != 2 else "a label that is not an integer"
                raise DataError(f"{where}: expected 'relative/path.jpg <integer label>' separated by {sep}, got {got}")
            label = int(parts[1])
            check_label(label, num_classes, where)
            self.samples.append((os.path.join(image_root, parts[0].strip()), label, where))
        if not self.samples:
            raise DataError(f"{cls_label_path}: the label list has no entries; add one 'relative/path.jpg <label>' "
                            "line per image, or point dataset.cls_label_path to the right file")

    def __getitem__(self, idx):
        path, label, where = self.samples[idx]
        return load_sample(path, self.transform, f"listed at {where}"), as_label(label)

    def __len__(self):
        return len(self.samples)
