"""PaddleClas's image ops by name (``DecodeImage`` ... ``ToCHWImage``) on ``[H, W, C]`` arrays, with its semantics
and its ``cv2``/``pil`` backends (docs/paddleclas.md). Randomness: ``random`` and NumPy, seeded by the trainer."""

import io
import math
import random
import re

import numpy as np
from PIL import Image, ImageOps

from ..errors import ConfigError, DataError
from ..notes import note_once
from .transforms import TRANSFORMS, NoArguments

try:  # optional: PaddleClas's default resize backend
    import cv2
except ImportError:  # pragma: no cover - depends on the environment
    cv2 = None

_PIL_INTERP = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
               "box": Image.BOX, "lanczos": Image.LANCZOS, "hamming": Image.HAMMING, "area": Image.BOX}
_CV2_INTERP_NAMES = ("nearest", "bilinear", "area", "bicubic", "lanczos")


def _as_array(img):
    return np.asarray(img) if isinstance(img, Image.Image) else img


def parse_number(value, key):
    """A number, or a string ``"a/b"`` of two numbers (PaddleClas writes ``scale: 1.0/255.0``)."""
    if not isinstance(value, str):
        return float(value)
    match = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(?:/\s*([0-9.eE+-]+)\s*)?", value)
    try:
        return float(match.group(1)) / float(match.group(2) or 1.0)
    except (AttributeError, ValueError, ZeroDivisionError):
        raise ConfigError(f"{key}: expected a number or 'a/b' (e.g. 1.0/255.0), got {value!r}") from None


class Resizer:
    """PaddleClas's resize of an ``[H, W, C]`` uint8 array (or PIL image) to ``(w, h)``; ``interpolation``
    ``random`` draws bilinear or bicubic per call, None is bilinear."""

    def __init__(self, interpolation=None, backend="cv2", return_numpy=True, key="ResizeImage"):
        backend = str(backend).lower()
        if backend not in ("cv2", "pil"):
            raise ConfigError(f"{key}.backend: expected 'cv2' or 'pil', got {backend!r}")
        names = _CV2_INTERP_NAMES if backend == "cv2" else tuple(_PIL_INTERP)
        interpolation = (interpolation or "bilinear").lower()
        if interpolation != "random" and interpolation not in names:
            raise ConfigError(f"{key}.interpolation: expected one of {', '.join(names)} or random, "
                              f"got {interpolation!r}")
        if backend == "cv2" and cv2 is None:
            note_once(f"{key}.backend", "OpenCV (cv2) is not installed; resizing with PIL and the same "
                      "interpolation instead (pip install opencv-python-headless for cv2's exact values)")
            backend = "pil"
        self.backend, self.interpolation, self.return_numpy = backend, interpolation, return_numpy

    def __call__(self, img, size):
        interp = random.choice(("bilinear", "bicubic")) if self.interpolation == "random" else self.interpolation
        size = tuple(int(s) for s in size)
        if self.backend == "cv2":
            flags = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA,
                     "bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
            return cv2.resize(_as_array(img), size, interpolation=flags[interp])
        pil = img if isinstance(img, Image.Image) else Image.fromarray(np.ascontiguousarray(img))
        out = pil.resize(size, _PIL_INTERP[interp])
        return np.asarray(out) if self.return_numpy else out


class ImageDecodeError(DataError):
    """Image bytes that ``DecodeImage``'s decoder cannot read."""


#: PIL modes of 16-bit samples (PNG, TIFF).
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def rgb_like_opencv(img, fmt=None):
    """The 8-bit RGB ``PIL.Image`` of ``img`` (file format ``fmt``) with the values OpenCV's ``IMREAD_COLOR``
    gives (docs/training-and-configs.md): 16-bit scaled by ``>> 8``, CMYK by OpenCV's formula, 32-bit refused."""
    fmt = fmt or img.format
    if img.mode in _SIXTEEN_BIT_MODES or (img.mode == "I" and fmt == "PNG"):  # PNG's "I" is 16-bit grey
        grey = (np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8)
        return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2), "RGB")
    if img.mode in ("I", "F"):
        raise ImageDecodeError(f"it has 32-bit {'float' if img.mode == 'F' else 'integer'} samples, which "
                               "OpenCV's IMREAD_COLOR cannot decode either; save it as an 8- or 16-bit PNG")
    if img.mode == "CMYK":
        cmyk = np.asarray(img).astype(np.int32)
        white = 255 - cmyk[:, :, 3:]
        return Image.fromarray((white - ((cmyk[:, :, :3] * white) >> 8)).astype(np.uint8), "RGB")
    return img.convert("RGB")


@TRANSFORMS.register
class DecodeImage:
    """Image bytes (or a data set's PIL RGB image; an array is taken as BGR) to an ``[H, W, 3]`` uint8 array
    (``[3, H, W]`` with ``channel_first``); ``to_np: false`` gives the PIL image (``pil``) or BGR array (``cv2``)."""

    def __init__(self, to_np=True, to_rgb=True, channel_first=False, backend="cv2"):
        if str(backend).lower() not in ("cv2", "pil"):
            raise ConfigError(f"DecodeImage.backend: expected 'cv2' or 'pil', got {backend!r}")
        self.to_np, self.to_rgb, self.channel_first = to_np, to_rgb, channel_first
        self.backend = str(backend).lower()
        if self.backend == "cv2" and cv2 is None:
            note_once("DecodeImage.backend", "OpenCV (cv2) is not installed; decoding with PIL instead (JPEG "
                      "values may differ slightly; pip install opencv-python-headless for cv2's exact values)")

    def _decode(self, data):
        """``[H, W, 3]`` BGR array (``cv2``) or RGB PIL image (``pil``) of encoded bytes."""
        if self.backend == "cv2" and cv2 is not None:
            bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ImageDecodeError("OpenCV cannot decode it (DecodeImage.backend: cv2); convert the file "
                                       "to JPEG or PNG, or set backend: pil")
            return bgr
        try:
            with Image.open(io.BytesIO(data)) as raw:
                img = ImageOps.exif_transpose(raw) if self.backend == "cv2" else raw
                return rgb_like_opencv(img, raw.format)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ImageDecodeError(f"PIL cannot decode it ({type(exc).__name__}: {exc})") from None

    def __call__(self, img):
        if isinstance(img, (bytes, bytearray)):
            img = self._decode(img)
        if isinstance(img, Image.Image):
            if not self.to_np and self.backend == "pil":
                return img.convert("RGB")
            bgr = np.asarray(img.convert("RGB"))[:, :, ::-1]
        else:
            bgr = np.asarray(img)
        if not self.to_np:
            return np.ascontiguousarray(bgr)
        out = bgr[:, :, ::-1] if self.to_rgb else bgr
        return np.ascontiguousarray(out.transpose(2, 0, 1) if self.channel_first else out)


@TRANSFORMS.register
class ResizeImage:
    """Resize so the short side is ``resize_short`` (aspect kept, sides rounded), or to ``size``
    (an int or ``[w, h]``)."""

    def __init__(self, size=None, resize_short=None, interpolation=None, backend="cv2", return_numpy=True):
        if resize_short is not None and resize_short > 0:
            self.resize_short, self.wh = resize_short, None
        elif size is not None:
            self.resize_short, self.wh = None, (size, size) if isinstance(size, int) else (size[0], size[1])
        else:
            raise ConfigError("ResizeImage: give 'resize_short' or 'size'")
        self.resize = Resizer(interpolation, backend, return_numpy, "ResizeImage")

    def __call__(self, img):
        img_h, img_w = _as_array(img).shape[:2]
        if self.resize_short is None:
            return self.resize(img, self.wh)
        percent = float(self.resize_short) / min(img_w, img_h)
        return self.resize(img, (int(round(img_w * percent)), int(round(img_h * percent))))


@TRANSFORMS.register
class RandCropImage:
    """Inception crop (area fraction from ``scale``, aspect from ``ratio``) resized to ``size`` (int or ``[w, h]``);
    ``progress_size``: the sizes of the stages of ``Global.train_mode: progressive``."""

    def __init__(self, size, progress_size=None, scale=None, ratio=None, interpolation=None,
                 use_log_aspect=False, backend="cv2"):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.progress_size, self.use_log_aspect = progress_size, use_log_aspect
        self.scale = list(scale or (0.08, 1.0))
        self.ratio = list(ratio or (3.0 / 4.0, 4.0 / 3.0))
        self.resize = Resizer(interpolation, backend, True, "RandCropImage")

    def __call__(self, img):
        img = _as_array(img)
        aspect = random.uniform(*(map(math.log, self.ratio) if self.use_log_aspect else self.ratio))
        aspect = math.exp(aspect) if self.use_log_aspect else aspect
        img_h, img_w = img.shape[:2]
        bound = min((img_w / img_h) / aspect, (img_h / img_w) * aspect)
        area = img_w * img_h * random.uniform(min(self.scale[0], bound), min(self.scale[1], bound))
        w, h = int(math.sqrt(area * aspect)), int(math.sqrt(area / aspect))
        x, y = random.randint(0, img_w - w), random.randint(0, img_h - h)
        return self.resize(img[y:y + h, x:x + w, :], self.size)


@TRANSFORMS.register
class RandFlipImage:
    """Flip with probability 0.5; ``flip_code`` 1: left-right, 0: top-bottom, -1: both."""

    def __init__(self, flip_code=1):
        if flip_code not in (-1, 0, 1):
            raise ConfigError(f"RandFlipImage.flip_code: expected -1, 0 or 1, got {flip_code!r}")
        self.axes = {1: (1,), 0: (0,), -1: (0, 1)}[flip_code]

    def __call__(self, img):
        return np.ascontiguousarray(np.flip(_as_array(img), self.axes)) if random.randint(0, 1) == 1 else img


@TRANSFORMS.register
class CropImage:
    """Center crop to ``size`` (an int or ``[w, h]``) of an ``[H, W, C]`` array."""

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img):
        img = _as_array(img)
        w, h = self.size
        img_h, img_w = img.shape[:2]
        top, left = (img_h - h) // 2, (img_w - w) // 2
        return img[top:top + h, left:left + w, :]


def _wh(size, op):
    """``(w, h)`` of PaddleClas's ``size``: an int or ``[w, h]``."""
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size):
        return tuple(size)
    raise ConfigError(f"{op}.size: expected a positive int or [w, h], got {size!r}")


@TRANSFORMS.register
class Padv2:
    """Pad an ``[H, W, C]`` image to ``size`` ``[w, h]`` (default: multiples of ``size_divisor``) as float32;
    ``pad_mode`` 0: right/bottom, 1: centred, 2: left/top, -1: at ``offsets`` ``[x, y]``."""

    def __init__(self, size=None, size_divisor=32, pad_mode=0, offsets=None, fill_value=None):
        self.size = None if size is None else _wh(size, "Padv2")
        if pad_mode not in (-1, 0, 1, 2) or (pad_mode == -1 and not offsets):
            raise ConfigError(f"Padv2.pad_mode: expected -1 (with offsets: [x, y]), 0, 1 or 2, got {pad_mode!r}")
        self.size_divisor, self.pad_mode, self.offsets = size_divisor, pad_mode, offsets
        fill = np.asarray(127.5 if fill_value is None else fill_value, dtype=np.float32).reshape(-1)
        if fill.size not in (1, 3):
            raise ConfigError(f"Padv2.fill_value: expected a number or 3 numbers, got {fill_value!r}")
        self.fill = np.broadcast_to(fill, (3,))

    def __call__(self, img):
        img = _as_array(img)
        img_h, img_w = img.shape[:2]
        if self.size is None:
            w, h = (int(math.ceil(v / self.size_divisor) * self.size_divisor) for v in (img_w, img_h))
        else:
            w, h = self.size
        if img_h > h or img_w > w:
            raise DataError(f"Padv2: a {img_w}x{img_h} image is larger than the padded size {w}x{h}; resize it "
                            "first (ResizeImage) or raise Padv2.size")
        x, y = {-1: tuple(self.offsets or (0, 0)), 0: (0, 0), 1: ((w - img_w) // 2, (h - img_h) // 2),
                2: (w - img_w, h - img_h)}[self.pad_mode]
        canvas = np.empty((h, w, img.shape[2]), dtype=np.float32)
        canvas[...] = self.fill[:img.shape[2]]
        canvas[y:y + img_h, x:x + img_w, :] = img
        return canvas


@TRANSFORMS.register
class RandomCropImage:
    """A ``size`` (an int or ``[w, h]``) crop at a random place of an ``[H, W, C]`` image (no resize)."""

    def __init__(self, size):
        self.size = _wh(size, "RandomCropImage")

    def __call__(self, img):
        img = _as_array(img)
        w, h = self.size
        img_h, img_w = img.shape[:2]
        if img_h < h or img_w < w:
            raise DataError(f"RandomCropImage: a {img_w}x{img_h} image is smaller than the crop {w}x{h}; resize "
                            "or pad it first")
        y, x = random.randint(0, img_h - h), random.randint(0, img_w - w)
        return img[y:y + h, x:x + w, :]


@TRANSFORMS.register
class CropImageAtRatio:
    """Center crop of ``size / (size + pad)`` of the short side, resized to ``size`` x ``size`` by OpenCV."""

    def __init__(self, size, pad, interpolation="bilinear"):
        self.size, self.ratio = size, size / (size + pad)
        self.resize = Resizer(interpolation, "cv2", True, "CropImageAtRatio")

    def __call__(self, img):
        img = _as_array(img)
        height, width = img.shape[:2]
        crop = int(self.ratio * min(height, width))
        top, left = (height - crop) // 2, (width - crop) // 2
        return self.resize(img[top:top + crop, left:left + crop, :], (self.size, self.size))


@TRANSFORMS.register
class NormalizeImage:
    """``(img * scale - mean) / std`` in float32 (float16 with ``output_fp16``) of ``[C, H, W]`` (``order: chw``)
    or ``[H, W, C]`` (any other order); ``channel_num: 4`` appends a zero channel."""

    def __init__(self, scale=None, mean=None, std=None, order="chw", output_fp16=False, channel_num=3):
        if channel_num not in (3, 4):
            raise ConfigError(f"NormalizeImage.channel_num: expected 3 or 4, got {channel_num!r}")
        self.scale = np.float32(parse_number(scale, "NormalizeImage.scale") if scale is not None else 1.0 / 255.0)
        self.chw = order == "chw"
        shape = (3, 1, 1) if self.chw else (1, 1, 3)
        self.mean = np.array(mean if mean is not None else [0.485, 0.456, 0.406]).reshape(shape).astype("float32")
        self.std = np.array(std if std is not None else [0.229, 0.224, 0.225]).reshape(shape).astype("float32")
        self.channel_num, self.dtype = channel_num, "float16" if output_fp16 else "float32"

    def __call__(self, img):
        img = (np.asarray(img).astype("float32") * self.scale - self.mean) / self.std
        if self.channel_num == 4:  # a zero channel after the others
            pad = [(0, 0)] * img.ndim
            pad[0 if self.chw else 2] = (0, 1)
            img = np.pad(img, pad)
        return img.astype(self.dtype)


@TRANSFORMS.register
class ToCHWImage(NoArguments):
    """``[H, W, C]`` to ``[C, H, W]``."""

    def __call__(self, img):
        return np.asarray(img).transpose((2, 0, 1))
