"""Shared pieces of the data sets: the "data not found" error, image reading, label checks."""

import os

import numpy as np
from PIL import Image

from ..errors import DataError


class DataNotFoundError(DataError):
    """The data of a data set is not on disk (and could not be downloaded).

    Only this error lets a config's ``fallback:`` data set take over; an unreadable image or a
    bad label is a :class:`~paddle_conv.errors.DataError` that always stops the run.
    """


def require_path(path, what, key):
    """Raise DataNotFoundError naming ``path`` and the config ``key`` when ``path`` does not exist."""
    if not os.path.exists(path):
        raise DataNotFoundError(f"{what} {path!r} does not exist (config key {key}); "
                                "check the path or mount the data")
    return path


#: The most pixels an image may have (PIL's own limit, about 89 megapixels): a larger one is a
#: decompression bomb (a small file that expands to gigabytes) or no training image.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def read_image(path, where=""):
    """Open ``path`` as an RGB ``PIL.Image``; DataError naming the file (and ``where``) if unreadable
    or larger than :data:`MAX_PIXELS` (checked from the header, before anything is decoded)."""
    at = f" ({where})" if where else ""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height <= MAX_PIXELS:
                return img.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot read image {os.fspath(path)!r}{at}: {type(exc).__name__}: {exc}; "
                        "remove it from the data set or replace the file") from None
    raise DataError(f"image {os.fspath(path)!r}{at} is {width}x{height} pixels, more than the limit of "
                    f"{MAX_PIXELS} (a decompression bomb?); resize it or remove it from the data set")


def check_label(label, class_num, where):
    """Raise DataError naming ``where`` when ``label`` is outside ``[0, class_num)``."""
    if label < 0 or (class_num is not None and label >= class_num):
        limit = f"[0, {class_num})" if class_num is not None else ">= 0"
        raise DataError(f"label {label} at {where} is outside {limit} (Arch.class_num={class_num}); "
                        "fix the label or raise Arch.class_num")


def as_label(label):
    """A label as the int64 array ``[1]`` that ``paddle.Model`` expects per sample."""
    return np.array([label], dtype="int64")
