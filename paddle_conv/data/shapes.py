"""``Shapes``: a generated detection data set of coloured rectangles, ellipses and triangles, and
:func:`write_voc`, which writes it as a VOC-format directory."""

import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image, ImageDraw

from ..det.boxes import box_iou_numpy
from ..errors import DataError
from ..registry import register_dataset
from .det_samples import detection_sample


@register_dataset
class Shapes:
    """Item ``i`` drawn from seed ``(seed, i)``: ``(image [3, S, S] float32, target [n, 5] float32)``, rows
    ``(x1, y1, x2, y2, label)`` relative (0 rectangle, 1 ellipse, 2 triangle); 1 to ``max_objects`` shapes of
    side ``min_size`` to ``max_size`` of ``S``, overlapping by at most ``max_iou``."""

    CLASSES = ("rectangle", "ellipse", "triangle")

    def __init__(self, num_images=1000, image_size=96, seed=0, max_objects=4, min_size=0.15, max_size=0.5,
                 max_iou=0.3, flip=False):
        if num_images < 1 or image_size < 16 or not 0 < min_size <= max_size <= 1 or max_objects < 1 or seed < 0:
            raise DataError("Shapes needs num_images >= 1, image_size >= 16, max_objects >= 1, seed >= 0 and "
                            f"0 < min_size <= max_size <= 1; got {num_images}, {image_size}, {max_objects}, {seed}, "
                            f"{min_size}, {max_size}")
        self.num_images, self.size, self.seed, self.max_objects = num_images, image_size, seed, max_objects
        self.min_size, self.max_size, self.max_iou, self.flip = min_size, max_size, max_iou, flip

    def __len__(self):
        return self.num_images

    def draw(self, index):
        """The PIL image and ``[n, 5]`` target of item ``index`` (no normalisation, no flip)."""
        rng = np.random.default_rng([self.seed, index])
        s = self.size
        background = tuple(int(c) for c in rng.integers(0, 100, 3))
        image = Image.new("RGB", (s, s), background)
        pen = ImageDraw.Draw(image)
        boxes = []
        for _ in range(int(rng.integers(1, self.max_objects + 1))):
            for _attempt in range(20):
                w, h = (rng.uniform(self.min_size, self.max_size, 2) * s).astype(int).clip(4, s)
                x0, y0 = int(rng.integers(0, s - w + 1)), int(rng.integers(0, s - h + 1))
                box = np.array([x0, y0, x0 + w, y0 + h], dtype="float32")  # pixel edges
                if not boxes or box_iou_numpy(box[None], np.array(boxes)[:, :4]).max() <= self.max_iou:
                    break
            else:
                continue
            label = int(rng.integers(0, 3))
            colour = tuple(int(c) for c in rng.integers(120, 256, 3))
            corners = [x0, y0, x0 + w - 1, y0 + h - 1]  # PIL's inclusive pixel corners
            if label == 0:
                pen.rectangle(corners, fill=colour)
            elif label == 1:
                pen.ellipse(corners, fill=colour)
            else:
                apex = x0 + int(rng.integers(0, w))
                pen.polygon([(apex, y0), (x0, y0 + h - 1), (x0 + w - 1, y0 + h - 1)], fill=colour)
            boxes.append([*box, label])
        target = np.array(boxes, dtype="float32").reshape(-1, 5)
        target[:, :4] /= s
        return image, target

    def __getitem__(self, index):
        if not 0 <= index < self.num_images:
            raise IndexError(f"Shapes index {index} out of range [0, {self.num_images})")
        return detection_sample(*self.draw(index), self.size, self.flip)


#: ``write_voc``'s default split sizes (each split is drawn from its own seed).
VOC_SPLITS = {"train": 400, "val": 100, "test": 100}


def _voc_annotation(image_id, size, target):
    """The VOC XML tree of one image: ``target [n, 5]`` relative boxes -> 1-based pixel corners."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = f"{image_id}.jpg"
    dims = ET.SubElement(root, "size")
    for key, value in (("width", size), ("height", size), ("depth", 3)):
        ET.SubElement(dims, key).text = str(value)
    for x1, y1, x2, y2, label in target:
        obj = ET.SubElement(root, "object")
        for key, value in (("name", Shapes.CLASSES[int(label)]), ("pose", "Unspecified"), ("truncated", "0"),
                           ("difficult", "0")):
            ET.SubElement(obj, key).text = value
        box = ET.SubElement(obj, "bndbox")
        # Shapes' boxes are pixel edges x0 .. x0 + w; VOC's xmin is 1-based, its xmax the last pixel
        corners = np.rint(np.array([x1, y1, x2, y2]) * size).astype(int) + np.array([1, 1, 0, 0])
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), corners):
            ET.SubElement(box, key).text = str(value)
    return ET.ElementTree(root)


def write_voc(root, splits=None, image_size=300, seed=0, **options):
    """Write Shapes images as a new VOC-format directory ``root`` (all or nothing) and return ``{split: ids}``.

    ``splits``: ``{name: number of images}`` (default :data:`VOC_SPLITS`), split ``k`` drawn as
    ``Shapes(seed=seed + k, image_size=image_size, **options)``; ``trainval.txt`` is added.
    """
    root = os.path.abspath(os.fspath(root))
    splits = dict(VOC_SPLITS if splits is None else splits)
    if os.path.lexists(root):
        raise DataError(f"{root!r} exists; write the VOC-format Shapes set to a new directory")
    if not splits or any(n < 1 for n in splits.values()):
        raise DataError(f"splits={splits}: give each split at least one image")
    parent = os.path.dirname(root)
    if not os.path.isdir(parent):
        raise DataError(f"{parent!r} is not a directory; create it first")
    work = os.path.join(parent, f".{os.path.basename(root)}.tmp-{os.getpid()}")
    os.mkdir(work)  # mode from the umask, as the renamed directory should have
    try:
        for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
            os.makedirs(os.path.join(work, sub))
        ids, next_id = {}, 1
        for k, (split, count) in enumerate(splits.items()):
            shapes = Shapes(num_images=count, image_size=image_size, seed=seed + k, **options)
            ids[split] = [f"{next_id + i:06d}" for i in range(count)]
            next_id += count
            for i, image_id in enumerate(ids[split]):
                image, target = shapes.draw(i)
                image.save(os.path.join(work, "JPEGImages", f"{image_id}.jpg"), quality=95)
                _voc_annotation(image_id, image_size, target).write(
                    os.path.join(work, "Annotations", f"{image_id}.xml"), encoding="utf-8")
        lists = dict(ids)
        lists.setdefault("trainval", ids.get("train", []) + ids.get("val", []))
        for split, names in lists.items():
            with open(os.path.join(work, "ImageSets", "Main", f"{split}.txt"), "w", encoding="utf-8") as f:
                f.writelines(f"{n}\n" for n in names)
        os.rename(work, root)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ids

