"""``VOCDetection``: PASCAL VOC-format detection data (Everingham et al., IJCV 2010).

Layout of ``root`` (one year, e.g. ``VOCdevkit/VOC2007``)::

    Annotations/<id>.xml       objects: name, difficult, bndbox (xmin, ymin, xmax, ymax; 1-based pixels)
    JPEGImages/<id>.jpg
    ImageSets/Main/<image_set>.txt   one id per line
"""

import os
import xml.etree.ElementTree as ET

import numpy as np

from ..errors import DataError
from . import register_dataset
from .common import read_image
from .detection import hflip, to_chw

#: The 20 VOC classes, in the order of the label indices.
VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


@register_dataset
class VOCDetection:
    """VOC-format detection set.

    Args:
        root: the year directory holding ``Annotations``, ``JPEGImages``, ``ImageSets/Main``.
        image_set: list file name without ``.txt`` (``trainval``, ``test``, ...).
        image_size: images are resized to ``image_size x image_size``.
        classes: class names, in label order (default the 20 VOC classes).
        keep_difficult: keep objects marked difficult (default False, as training usually does).
        flip: mirror left-right at random.

    Item: ``(image [3, S, S] float32, target [n, 5] float32)``, rows ``(x1, y1, x2, y2, label)``
    relative to the image. :meth:`annotation` gives the boxes with the ``difficult`` flags.
    """

    def __init__(
        self, root, image_set="trainval", image_size=300, classes=VOC_CLASSES, keep_difficult=False, flip=False
    ):
        self.root, self.size, self.keep_difficult, self.flip = root, image_size, keep_difficult, flip
        self.classes = tuple(classes)
        list_file = os.path.join(root, "ImageSets", "Main", f"{image_set}.txt")
        if not os.path.isfile(list_file):
            raise DataError(
                f"VOC list file {list_file!r} not found: root must be a VOC year directory "
                "(with Annotations/, JPEGImages/, ImageSets/Main/) and image_set one of its lists"
            )
        with open(list_file, encoding="utf-8") as f:
            self.ids = [line.split()[0] for line in f if line.strip()]
        if not self.ids:
            raise DataError(f"VOC list file {list_file!r} is empty")

    def __len__(self):
        return len(self.ids)

    def annotation(self, index):
        """``(target [n, 5] relative, difficult [n] bool, (width, height))`` of item ``index``."""
        path = os.path.join(self.root, "Annotations", f"{self.ids[index]}.xml")
        try:
            tree = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            raise DataError(f"cannot read VOC annotation {path!r}: {exc}") from exc
        size = tree.find("size")
        width, height = (float(size.find(k).text) for k in ("width", "height"))
        rows, difficult = [], []
        for obj in tree.iter("object"):
            hard = obj.find("difficult") is not None and int(obj.find("difficult").text) == 1
            if hard and not self.keep_difficult:
                continue
            name = obj.find("name").text.strip()
            if name not in self.classes:
                raise DataError(f"{path}: class {name!r} is not in classes {self.classes}; pass classes=")
            bb = obj.find("bndbox")
            x1, y1, x2, y2 = (float(bb.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            rows.append([(x1 - 1) / width, (y1 - 1) / height, x2 / width, y2 / height, self.classes.index(name)])
            difficult.append(hard)
        return np.array(rows, dtype="float32").reshape(-1, 5), np.array(difficult, bool), (width, height)

    def __getitem__(self, index):
        target, _, _ = self.annotation(index)
        path = os.path.join(self.root, "JPEGImages", f"{self.ids[index]}.jpg")
        image = read_image(path, f"VOC image of {self.ids[index]!r}")
        image = to_chw(image, self.size)
        if self.flip and np.random.random() < 0.5:
            image, target = hflip(image, target)
        return image, target
