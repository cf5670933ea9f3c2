"""Labels made by a transform (PULC's clarity and orientation configs): PaddleClas's ``CustomLabelDataset`` and
the ops that alter an image at random and say how (``label_key``); elsewhere the ops only alter the image."""

import os
import random

import numpy as np
import paddle

from ..errors import ConfigError, DataError
from ..registry import register_dataset
from .common import as_label, list_lines, load_sample, require_path
from .paddleclas_ops import cv2
from .transforms import TRANSFORMS, build_transforms


@TRANSFORMS.register
class RandomRot90:
    """A random number of quarter turns of an ``[H, W, C]`` image; label: that number (0-3)."""

    label_key, label_count = "random_rot90_orientation", 4

    def labelled(self, img):
        """``(turned image, quarter turns)``."""
        turns = random.choice([0, 1, 2, 3])
        return (np.rot90(img, turns) if turns else img), turns

    def __call__(self, img):
        return self.labelled(img)[0]


@TRANSFORMS.register
class BlurImage:
    """Gaussian or motion blur (odd kernel sides from 5, half each) of a uint8 ``[H, W, C]`` image with
    probability ``ratio``; label: 1 if blurred, else 0."""

    label_key, label_count = "blur_image", 2

    def __init__(self, ratio=0.5, motion_max_ksize=12, motion_max_angle=45, gaussian_max_ksize=12):
        if cv2 is None:
            raise ConfigError("BlurImage needs OpenCV (its blurs are OpenCV's, as in PaddleClas): "
                              "pip install opencv-python-headless (the 'train' extra)")
        for key, value in (("motion_max_ksize", motion_max_ksize), ("gaussian_max_ksize", gaussian_max_ksize)):
            if isinstance(value, bool) or not isinstance(value, int) or not 6 <= value <= 255:
                raise ConfigError(f"BlurImage.{key}: expected an integer from 6 to 255 (kernel sides are drawn from "
                                  f"the odd numbers 5 ... {key} - 1), got {value!r}")
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
            raise ConfigError(f"BlurImage.ratio: expected the share of blurred images, from 0 to 1, got {ratio!r}")
        if isinstance(motion_max_angle, bool) or not isinstance(motion_max_angle, int) or not 1 <= motion_max_angle:
            raise ConfigError(f"BlurImage.motion_max_angle: expected a positive integer (degrees), got "
                              f"{motion_max_angle!r}")
        self.ratio, self.motion_max_ksize = float(ratio), motion_max_ksize
        self.motion_max_angle, self.gaussian_max_ksize = motion_max_angle, gaussian_max_ksize

    def _motion_blur(self, img):
        size = int(np.random.choice(np.arange(5, self.motion_max_ksize, 2)))
        angle = np.random.choice(np.arange(-self.motion_max_angle, self.motion_max_angle))
        turn = cv2.getRotationMatrix2D((size / 2, size / 2), float(angle), 1)
        kernel = cv2.warpAffine(np.diag(np.ones(size)), turn, (size, size)) / size
        blurred = cv2.filter2D(img, -1, kernel)
        cv2.normalize(blurred, blurred, 0, 255, cv2.NORM_MINMAX)
        return np.asarray(blurred, dtype=np.uint8)

    def labelled(self, img):
        """``(image, 1)`` blurred, or ``(image, 0)`` as it was."""
        if random.random() > self.ratio:
            return img, 0
        if random.choice(["gaussian", "motion"]) == "motion":
            return self._motion_blur(img), 1
        sides = np.arange(5, self.gaussian_max_ksize, 2)
        return cv2.GaussianBlur(img, (int(np.random.choice(sides)), int(np.random.choice(sides))), 0), 1

    def __call__(self, img):
        return self.labelled(img)[0]


class LabellingPipeline:
    """The built ``transform_ops`` called on an image: ``(image, label)``, the label the ``label_key`` op's."""

    def __init__(self, compose, label_key):
        self.transforms = compose.transforms
        self.label_key = label_key

    def __call__(self, img):
        label = None
        for op in self.transforms:
            if getattr(op, "label_key", None) == self.label_key:
                img, label = op.labelled(img)
            else:
                img = op(img)
        return img, label


def _label_makers(transform_ops):
    """``{label key: op class}`` of the ops in ``transform_ops`` (``[{Name: {kwargs}}, ...]``) that make a label."""
    classes = (TRANSFORMS.get(next(iter(op))) for op in transform_ops or ())
    return {cls.label_key: cls for cls in classes if hasattr(cls, "label_key")}


def label_key_problem(transform_ops, label_key):
    """Why no op of ``transform_ops`` makes ``label_key`` (None when one does)."""
    makers = _label_makers(transform_ops)
    if label_key in makers:
        return None
    known = ", ".join(f"{cls.__name__} ({key})" for key, cls in makers.items()) or "none"
    return (f"{label_key!r} is made by none of its transform_ops (ops there that make a label: {known}); add the "
            "op (RandomRot90: random_rot90_orientation, BlurImage: blur_image) or name its label")


@register_dataset
class CustomLabelDataset(paddle.io.Dataset):
    """Images listed in ``sample_list_path`` (one path per line, or its first ``delimiter`` field), labelled by
    the op of ``transform_ops`` that makes ``label_key``; items ``(image [C, H, W], int64 label [1])``."""

    def __init__(self, image_root, sample_list_path, transform_ops=None, label_key=None, delimiter=None,
                 num_classes=None):
        require_path(image_root, "image root", "dataset.image_root")
        lines = list_lines(sample_list_path, "sample list", "dataset.sample_list_path")
        compose = build_transforms(transform_ops)
        problem = label_key_problem(transform_ops, label_key)
        if problem:
            raise ConfigError(f"CustomLabelDataset.label_key: {problem}")
        maker = _label_makers(transform_ops)[label_key]
        if num_classes is not None and num_classes < maker.label_count:
            raise ConfigError(f"Arch.class_num={num_classes}, but {maker.__name__} makes the labels "
                              f"0 ... {maker.label_count - 1}; set Arch.class_num to {maker.label_count}")
        self.transform = LabellingPipeline(compose, label_key)
        self.samples = [(os.path.join(image_root, line.split(delimiter)[0] if delimiter else line), where)
                        for line, where in lines]
        if not self.samples:
            raise DataError(f"{sample_list_path}: the sample list has no entries; add one 'relative/path.jpg' line "
                            "per image, or point dataset.sample_list_path to the right file")

    def __getitem__(self, idx):
        path, where = self.samples[idx]
        image, label = load_sample(path, self.transform, f"listed at {where}")
        return image, as_label(label)

    def __len__(self):
        return len(self.samples)
