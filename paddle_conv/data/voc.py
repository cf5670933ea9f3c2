"""``VOCDetection``: PASCAL VOC-format detection data (Everingham et al., IJCV 2010)."""

import math
import os
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from ..errors import DataError, abbreviate
from ..io import check_user_file, open_user_file, read_user_bytes, read_user_text
from ..registry import register_dataset
from .common import read_image
from .det_samples import detection_sample

#: The 20 VOC classes, in the order of the label indices.
VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
               "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor")
#: Largest ``<size>`` width or height taken (JPEG's own limit); a larger one is no real image.
MAX_SIDE = 65535
#: ``size_mismatch`` choices: what to do when ``<size>`` is not the decoded image's size.
SIZE_MISMATCH = ("refuse", "rescale")


@register_dataset
class VOCDetection:
    """A VOC year directory (``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<image_set>.txt``), every
    annotation checked when the set is made; ``size_mismatch: rescale`` scales boxes from ``<size>`` to the image.

    Item: ``(image [3, S, S] float32, target [n, 5] float32)``, rows ``(x1, y1, x2, y2, label)`` relative.
    """

    def __init__(self, root, image_set="trainval", image_size=300, classes=VOC_CLASSES, keep_difficult=False,
                 flip=False, size_mismatch="refuse"):
        self.root, self.size, self.keep_difficult, self.flip = root, image_size, keep_difficult, flip
        self.classes = tuple(classes)
        if len(set(self.classes)) != len(self.classes) or not all(isinstance(c, str) and c for c in self.classes):
            raise DataError(f"VOCDetection classes {abbreviate(list(self.classes), 200)}: give distinct non-empty "
                            "class names, in label order")
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
            raise DataError(f"VOCDetection image_size {abbreviate(image_size)}: must be a positive integer (pixels)")
        if size_mismatch not in SIZE_MISMATCH:
            raise DataError(f"VOCDetection size_mismatch {abbreviate(size_mismatch, 40)}: must be one of "
                            f"{', '.join(SIZE_MISMATCH)}")
        list_file = os.path.join(root, "ImageSets", "Main", f"{image_set}.txt")
        if not os.path.exists(list_file):
            raise DataError(f"VOC list file {list_file!r} not found: root must be a VOC year directory "
                            "(with Annotations/, JPEGImages/, ImageSets/Main/) and image_set one of its lists")
        text = read_user_text(list_file, "list", "VOC list file")
        self.ids = [line.split()[0] for line in text.splitlines() if line.strip()]
        if not self.ids:
            raise DataError(f"VOC list file {list_file!r} is empty")
        self._annotations = []
        for line, image_id in enumerate(self.ids, 1):
            image = self.image_path(image_id)
            if not os.path.exists(image):
                raise DataError(f"VOC image {image!r} (line {line} of {list_file}) does not exist; "
                                "add the image or remove its id from the list")
            check_user_file(image, "image", "VOC image", f"line {line} of {list_file}")
            xml = os.path.join(root, "Annotations", f"{image_id}.xml")
            self._annotations.append(read_annotation(xml, self.classes))
            if size_mismatch == "refuse":
                _check_image_size(xml, self._annotations[-1][2], image)

    def __len__(self):
        return len(self.ids)

    def image_path(self, image_id):
        return os.path.join(self.root, "JPEGImages", f"{image_id}.jpg")

    def annotation(self, index):
        """``(target [n, 5] relative, difficult [n] bool, (width, height))`` of item ``index``."""
        target, difficult, size = self._annotations[index]
        if not self.keep_difficult:
            target, difficult = target[~difficult], difficult[~difficult]
        return target, difficult, size

    def __getitem__(self, index):
        target, _, _ = self.annotation(index)
        image = read_image(self.image_path(self.ids[index]), f"VOC image of {self.ids[index]!r}")
        return detection_sample(image, target, self.size, self.flip)


def _number(element, key, where):
    """The float in ``<key>`` under ``element``; DataError naming ``where`` if missing or not a finite number."""
    child = element.find(key)
    if child is None or child.text is None or not child.text.strip():
        raise DataError(f"{where}: <{key}> is missing or empty; every VOC box needs xmin, ymin, xmax, ymax "
                        "and the image <size> width and height")
    try:
        value = float(child.text)
    except ValueError:
        raise DataError(f"{where}: <{key}> is {abbreviate(child.text.strip(), 40)}, not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: <{key}> is {value}, not a finite number")
    return value


def _check_image_size(xml, size, image):
    """DataError naming both sizes and the files when ``size`` (``<size>`` of ``xml``) is not the size of ``image``
    (from its header; an unreadable one is left to the loader)."""
    try:
        with open_user_file(image, "image", "VOC image") as f, Image.open(f) as img:
            actual = img.size
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return
    if tuple(size) != actual:
        raise DataError(f"{xml}: <size> is {size[0]:g} x {size[1]:g} but its image {image!r} is {actual[0]} x "
                        f"{actual[1]}; fix <size> (the boxes are in its pixels), or set the data set's "
                        "size_mismatch: rescale to scale the boxes from <size> to the image")


def read_annotation(path, classes):
    """``(target [n, 5] relative, difficult [n] bool, (width, height))`` of the VOC annotation ``path``; DataError
    naming the file and object for a bad record (a box may reach one pixel past the image: 0- and 1-based)."""
    data = read_user_bytes(path, "annotation", "VOC annotation")
    try:
        tree = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DataError(f"cannot read VOC annotation {path!r}: {exc}; fix the XML or remove its id "
                        "from the list") from None
    size = tree.find("size")
    if size is None:
        raise DataError(f"{path}: <size> is missing; a VOC annotation needs <size><width>..</width>"
                        "<height>..</height></size>")
    width, height = (_number(size, k, f"{path}: <size>") for k in ("width", "height"))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width % 1 or height % 1:
        raise DataError(f"{path}: <size> is {width:g} x {height:g}; width and height must be whole numbers of "
                        f"pixels from 1 to {MAX_SIDE}")
    rows, difficult = [], []
    for i, obj in enumerate(tree.iter("object")):
        name = (obj.findtext("name") or "").strip()
        where = f"{path}: object {i} ({name or 'no name'})"
        if not name:
            raise DataError(f"{where}: <name> is missing or empty; every object needs a class name")
        if name not in classes:
            raise DataError(f"{where}: class {name!r} is not in classes {tuple(classes)}; pass classes= "
                            "(DataLoader.*.dataset.classes) with every class of the data")
        hard = (obj.findtext("difficult") or "0").strip()
        if hard not in ("0", "1"):
            raise DataError(f"{where}: <difficult> is {abbreviate(hard, 40)}; it must be 0 or 1")
        box = obj.find("bndbox")
        if box is None:
            raise DataError(f"{where}: <bndbox> is missing; every object needs a box")
        x1, y1, x2, y2 = (_number(box, k, where) for k in ("xmin", "ymin", "xmax", "ymax"))
        if x2 <= x1 or y2 <= y1:
            raise DataError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is inverted or empty; "
                            "xmin < xmax and ymin < ymax are needed")
        if x1 < 0 or y1 < 0 or x2 > width + 1 or y2 > height + 1:
            raise DataError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is outside the {width:g} x {height:g} "
                            "image of <size>; fix the box or the size")
        rel = np.clip([(x1 - 1) / width, (y1 - 1) / height, x2 / width, y2 / height], 0.0, 1.0)
        rows.append([*rel, classes.index(name)])
        difficult.append(hard == "1")
    return np.array(rows, dtype="float32").reshape(-1, 5), np.array(difficult, bool), (width, height)
