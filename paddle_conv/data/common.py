"""Shared pieces of the data sets: the "data not found" error, image reading, label checks."""

import io
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import DataError
from ..io import read_user_bytes, read_user_text
from .paddleclas_ops import DecodeImage, ImageDecodeError, rgb_like_opencv


class DataNotFoundError(DataError):
    """The data of a data set is not on disk (and could not be downloaded): the one error a ``fallback:`` handles."""


def require_path(path, what, key):
    """Raise DataNotFoundError naming ``path`` and the config ``key`` when ``path`` does not exist."""
    if not os.path.exists(path):
        raise DataNotFoundError(f"{what} {path!r} does not exist (config key {key}); "
                                "check the path or mount the data")
    return path


#: The most pixels an image may have (PIL's own limit, about 89 megapixels): more is a decompression bomb.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def read_image(path, where="", encoded=False):
    """The image at ``path`` as an 8-bit RGB ``PIL.Image`` with OpenCV's values (``encoded``: the file's bytes);
    DataError naming the file (and ``where``) if unreadable or over :data:`MAX_PIXELS` (from its header)."""
    data = read_user_bytes(path, "image", "image", where)
    try:
        with Image.open(io.BytesIO(data)) as img:
            check_pixels(path, img.size, where)
            return data if encoded else rgb_like_opencv(img)
    except ImageDecodeError as exc:
        raise _unreadable(path, where, exc) from None
    except DataError:  # check_pixels's, already naming the file
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        problem = f"{image_problem(exc)}; remove it from the data set or replace the file"
        raise _unreadable(path, where, problem) from None


def _unreadable(path, where, problem):
    at = f" ({where})" if where else ""
    return DataError(f"cannot read image {os.fspath(path)!r}{at}: {problem}")


def check_pixels(path, size, where=""):
    """DataError naming ``path`` (and ``where``) when an image of ``size`` (width, height) has more than
    :data:`MAX_PIXELS`."""
    width, height = size
    if width * height > MAX_PIXELS:
        at = f" ({where})" if where else ""
        raise DataError(f"image {os.fspath(path)!r}{at} is {width}x{height} pixels, more than the limit of "
                        f"{MAX_PIXELS} (a decompression bomb?); resize it or remove it from the data set")


def image_problem(exc):
    """What PIL's ``exc`` says about an image it cannot read, without the in-memory file it was given."""
    if isinstance(exc, UnidentifiedImageError):
        return "UnidentifiedImageError: not an image format PIL reads (or not an image)"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def takes_encoded(transform):
    """True when ``transform`` (an op or a ``Compose``) starts with ``DecodeImage``: it takes file bytes."""
    ops = getattr(transform, "transforms", None) or [transform]
    return isinstance(ops[0], DecodeImage)


def load_sample(path, transform, where=""):
    """``transform`` (None: none) of the image at ``path``: the file's bytes for a pipeline starting with
    ``DecodeImage``, as PaddleClas hands them, else the RGB ``PIL.Image``."""
    if transform is None:
        return read_image(path, where)
    if not takes_encoded(transform):
        return transform(read_image(path, where))
    try:
        return transform(read_image(path, where, encoded=True))
    except ImageDecodeError as exc:
        raise _unreadable(path, where, exc) from None


def list_lines(path, what, key):
    """``[(stripped line, "path:line")]`` of the non-blank lines of the list file ``path`` (config ``key``)."""
    require_path(path, what, key)
    text = read_user_text(path, "list", what, f"config key {key}")
    return [(line.strip(), f"{path}:{n}") for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def check_label(label, num_classes, where):
    """Raise DataError naming ``where`` when ``label`` is outside ``[0, num_classes)``."""
    if label < 0 or (num_classes is not None and label >= num_classes):
        limit = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise DataError(f"label {label} at {where} is outside {limit} (Arch.class_num={num_classes}); "
                        "fix the label or raise Arch.class_num")


def as_label(label):
    """A label as the int64 array ``[1]`` that ``paddle.Model`` expects per sample."""
    return np.array([label], dtype="int64")
