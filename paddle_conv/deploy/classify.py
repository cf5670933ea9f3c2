"""Classify image files with an exported model: find images, preprocess as at evaluation, top-k."""

import io
import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..data.common import check_pixels, image_problem, load_sample, takes_encoded
from ..data.paddleclas_ops import ImageDecodeError, rgb_like_opencv
from ..data.transforms import build_transforms
from ..errors import DataError
from ..io import read_user_bytes, read_user_text

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
_SIZING = ("Resize", "CenterCrop", "RandomResizedCrop", "RandomCrop")


def image_paths(inputs):
    """The image files named by ``inputs`` (files, or folders searched recursively), sorted per folder."""
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            found = sorted(os.path.join(root, f) for root, _, files in os.walk(item) for f in files
                           if f.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise DataError(f"{item}: the folder holds no image ({', '.join(IMAGE_EXTENSIONS)})")
            paths.extend(found)
        elif os.path.lexists(item):
            paths.append(item)  # a file (or a FIFO, a device...: loading it says what it is)
        else:
            raise DataError(f"{item}: no such file or folder; pass image files or a folder of images")
    return paths


def eval_transform(cfg):
    """The preprocessing of ``cfg``: ``Infer.transforms``, else the ``DataLoader.Eval`` (or ``Train``) data set's,
    after a ``Resize`` to ``Global.image_shape`` when they do not set the size."""
    infer_ops = (cfg.get("Infer") or {}).get("transforms")
    if infer_ops:
        return build_transforms(infer_ops, to_chw=False)
    loaders = cfg["DataLoader"]
    ops = list((loaders.get("Eval") or loaders["Train"])["dataset"].get("transform_ops") or [])
    if ops and next(iter(ops[0])) == "DecodeImage":  # PaddleClas's ops: they size and lay out the image
        return build_transforms(ops)
    if not any(next(iter(op)) in _SIZING for op in ops):
        ops.insert(0, {"Resize": {"size": list(cfg["Global"]["image_shape"][1:])}})
    if not any(next(iter(op)) == "ToTensor" for op in ops):
        ops.append({"ToTensor": None})
    return build_transforms(ops)


def read_class_id_map(path, delimiter=None):
    """``{class id: name}`` of PaddleClas's ``class_id_map_file`` (``<id><delimiter><name>`` lines); DataError
    naming the file and line, never quoting its content (it may be any file a config names)."""
    text = read_user_text(path, "class map", "class id map", "Infer.PostProcess.class_id_map_file")
    names = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(delimiter, 1) if delimiter else line.strip().split(None, 1)
        if not parts[0].isdigit():
            raise DataError(f"class id map {os.fspath(path)!r} (Infer.PostProcess.class_id_map_file): line {lineno} "
                            "does not start with a class id; expected '<class id> <name>' lines (an integer, the "
                            "delimiter, the name)")
        names[int(parts[0])] = parts[1].strip() if len(parts) > 1 else parts[0]
    return names


def load_image(path, transform):
    """``[C, H, W]`` float32 array of the RGB image at ``path`` (EXIF-upright) after ``transform``; DataError naming
    the file when it cannot be read. A PaddleClas pipeline (``DecodeImage`` first) decodes the file's bytes itself."""
    if takes_encoded(transform):
        return np.asarray(load_sample(path, transform), dtype=np.float32)
    data = read_user_bytes(path, "image", "image")
    try:
        with Image.open(io.BytesIO(data)) as image:
            check_pixels(path, image.size)
            image = rgb_like_opencv(ImageOps.exif_transpose(image), image.format)
    except ImageDecodeError as exc:
        raise DataError(f"{path}: cannot read the image: {exc}") from None
    except DataError:  # check_pixels's, already naming the file
        raise
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise DataError(f"{path}: cannot read the image ({image_problem(exc)})") from None
    out = transform(image)
    return np.asarray(out.numpy() if hasattr(out, "numpy") else out, dtype=np.float32)


def softmax(logits):
    """Row-wise softmax of ``[N, K]`` logits, computed stably."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def topk(logits, k):
    """``[(class ids, probabilities)]`` of the ``k`` best classes of each row of ``[N, K]`` logits."""
    probs = softmax(np.asarray(logits, dtype=np.float64))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return [(row.tolist(), probs[i, row].tolist()) for i, row in enumerate(order)]


def thresh_output(logits, threshold):
    """PaddleClas's ``ThreshOutput`` of a 2-class model: ``([1], [p])`` when the softmax score ``p`` of
    class 1 reaches ``threshold``, else ``([0], [1 - p])``, per row of ``[N, 2]`` logits."""
    probs = softmax(np.asarray(logits, dtype=np.float64))[:, 1]
    return [([1], [float(p)]) if p >= threshold else ([0], [float(1 - p)]) for p in probs]


def multilabel_output(logits, threshold):
    """PaddleClas's ``MultiLabelThreshOutput``: ``(ids, sigmoid scores >= threshold)`` per row of ``[N, K]``."""
    probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))
    return [(np.flatnonzero(row >= threshold).tolist(), row[row >= threshold].tolist()) for row in probs]
