"""``root/<class name>/<image>`` folders as a labelled data set (``paddle.vision.datasets.DatasetFolder``)."""

import paddle

from ..errors import DataError
from ..registry import register_dataset
from .common import as_label, check_label, load_sample, read_image, require_path

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


@register_dataset
class ImageFolder(paddle.io.Dataset):
    """One sub-folder of ``root`` per class, numbered in sorted name order; items ``(transform(image), int64 label
    [1])`` as :class:`ImageNetDataset`'s."""

    def __init__(self, root, transform=None, num_classes=None):
        require_path(root, "image folder", "dataset.root")
        try:
            folder = paddle.vision.datasets.DatasetFolder(root, loader=read_image, extensions=IMAGE_EXTENSIONS)
        except RuntimeError as exc:  # no class folders / no images
            raise DataError(f"image folder {root!r}: {exc}") from exc
        for name, label in folder.class_to_idx.items():
            check_label(label, num_classes, f"class folder {name!r} of {root!r}")
        self.classes, self.samples, self.transform = folder.classes, folder.samples, transform

    def __getitem__(self, idx):
        path, label = self.samples[idx]
        return load_sample(path, self.transform), as_label(label)

    def __len__(self):
        return len(self.samples)
