"""PaddleClas's augmentation ops by name (policies, erasing, colour) on ``[H, W, C]`` uint8 arrays; the policies
share one table of PIL ops (:data:`IMAGE_OPS`) and differ in how a magnitude maps to its argument."""

import math
import random
import re

import numpy as np
import paddle.vision.transforms as T
from PIL import Image, ImageEnhance, ImageOps

from ..errors import ConfigError
from .paddleclas_ops import _PIL_INTERP, parse_number
from .transforms import TRANSFORMS, NoArguments


def _sign(v):
    return -v if random.random() < 0.5 else v


def _affine(img, matrix, fill, resample):
    return img.transform(img.size, Image.AFFINE, matrix, resample, fillcolor=fill)


def _solarize_add(img, add, thresh=128):
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


def _posterize(img, bits):
    """Keep the ``bits`` high bits of each channel; 0 bits (timm's at magnitude 10) is black (Pillow 9+ refuses 0)."""
    if bits >= 8:
        return img
    return ImageOps.posterize(img, bits) if bits > 0 else img.point(lambda _: 0)


#: ``name -> f(img, v, fill, resample)``: v is the op's argument already scaled (and signed).
IMAGE_OPS = {
    "ShearX": lambda img, v, fill, rs: _affine(img, (1, v, 0, 0, 1, 0), fill, rs),
    "ShearY": lambda img, v, fill, rs: _affine(img, (1, 0, 0, v, 1, 0), fill, rs),
    "TranslateX": lambda img, v, fill, rs: _affine(img, (1, 0, v * img.size[0], 0, 1, 0), fill, rs),
    "TranslateY": lambda img, v, fill, rs: _affine(img, (1, 0, 0, 0, 1, v * img.size[1]), fill, rs),
    "Rotate": lambda img, v, fill, rs: img.rotate(v, resample=rs, fillcolor=fill),
    "Color": lambda img, v, fill, rs: ImageEnhance.Color(img).enhance(v),
    "Contrast": lambda img, v, fill, rs: ImageEnhance.Contrast(img).enhance(v),
    "Brightness": lambda img, v, fill, rs: ImageEnhance.Brightness(img).enhance(v),
    "Sharpness": lambda img, v, fill, rs: ImageEnhance.Sharpness(img).enhance(v),
    "Posterize": lambda img, v, fill, rs: _posterize(img, int(v)),
    "Solarize": lambda img, v, fill, rs: ImageOps.solarize(img, v),
    "SolarizeAdd": lambda img, v, fill, rs: _solarize_add(img, int(v)),
    "AutoContrast": lambda img, v, fill, rs: ImageOps.autocontrast(img),
    "Equalize": lambda img, v, fill, rs: ImageOps.equalize(img),
    "Invert": lambda img, v, fill, rs: ImageOps.invert(img),
}


#: AutoAugment's argument at magnitude 1 of the ops with a sign (translate: a share of the side).
_SIGNED_RANGE = {"ShearX": 0.3, "ShearY": 0.3, "TranslateX": 150.0 / 331.0, "TranslateY": 150.0 / 331.0, "Rotate": 30.0}
_ENHANCE_OPS = ("Color", "Contrast", "Brightness", "Sharpness")


def paper_level(name, level):
    """The argument of op ``name`` at magnitude ``level`` in [0, 1] with AutoAugment's ranges, randomly signed."""
    if name in _SIGNED_RANGE:
        return _sign(_SIGNED_RANGE[name] * level)
    if name in _ENHANCE_OPS:
        return 1.0 + _sign(0.9 * level)
    if name == "Posterize":
        return 8 - int(4.0 * level)
    if name == "Solarize":
        return 256.0 * (1.0 - level)
    if name == "SolarizeAdd":
        return 110.0 * level
    return 0.0


class _PilPolicy:
    """Apply :meth:`augment` to a PIL view of an ``[H, W, C]`` uint8 array; return an array."""

    def __call__(self, img):
        pil = img if isinstance(img, Image.Image) else Image.fromarray(np.ascontiguousarray(img))
        return np.asarray(self.augment(pil))


#: AutoAugment's ImageNet policy (Cubuk et al. 2019, Table 9): sub-policies of ``(op, probability, magnitude / 10)``.
IMAGENET_POLICY = (
    (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)), (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)), (("Equalize", 0.4, 4), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, 7)), (("Posterize", 0.8, 5), ("Equalize", 1.0, 2)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, 8), ("Posterize", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, 2)),
    (("Equalize", 0.0, 7), ("Equalize", 0.8, 8)), (("Invert", 0.6, 4), ("Equalize", 1.0, 8)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, 8)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, 9)), (("Color", 0.4, 0), ("Equalize", 0.6, 3)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Invert", 0.6, 4), ("Equalize", 1.0, 8)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)),
)


@TRANSFORMS.register
class AutoAugment(_PilPolicy, NoArguments):
    """AutoAugment's ImageNet policy: one random sub-policy per image, each op with its probability."""

    fill = (128, 128, 128)

    def augment(self, img):
        for name, prob, magnitude in random.choice(IMAGENET_POLICY):
            if random.random() < prob:
                img = IMAGE_OPS[name](img, paper_level(name, magnitude / 10.0), self.fill, Image.BICUBIC)
        return img


_RAND_OPS = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Color", "Posterize", "Solarize",
             "Contrast", "Sharpness", "Brightness", "AutoContrast", "Equalize", "Invert")


@TRANSFORMS.register
class RandAugment(_PilPolicy):
    """RandAugment: ``num_layers`` ops drawn uniformly (with replacement), all at ``magnitude`` / 10."""

    random_level = False  # V2: each op's level drawn from [0, level]

    def __init__(self, num_layers=2, magnitude=5, fillcolor=(128, 128, 128), interpolation="bicubic"):
        if interpolation not in _PIL_INTERP:
            raise ConfigError(f"{type(self).__name__}.interpolation: expected one of {', '.join(_PIL_INTERP)}, "
                              f"got {interpolation!r}")
        self.num_layers, self.level = num_layers, magnitude / 10.0
        self.fill, self.resample = tuple(fillcolor), _PIL_INTERP[interpolation]

    def augment(self, img):
        for _ in range(self.num_layers):
            name = _RAND_OPS[np.random.randint(len(_RAND_OPS))]
            level = random.uniform(0, self.level) if self.random_level else self.level
            img = IMAGE_OPS[name](img, paper_level(name, level), self.fill, self.resample)
        return img


@TRANSFORMS.register
class RandAugmentV2(RandAugment):
    """RandAugment whose magnitude is drawn per op from [0, ``magnitude``]; ``progress_magnitude``: the
    magnitudes of the stages of ``Global.train_mode: progressive``."""

    random_level = True

    def __init__(self, num_layers=2, magnitude=5, progress_magnitude=None, fillcolor=(128, 128, 128)):
        super().__init__(num_layers, magnitude, fillcolor)
        self.progress_magnitude = progress_magnitude

    def set_magnitude(self, magnitude):
        """Draw from [0, ``magnitude``] from now on (a progressive stage's)."""
        self.level = magnitude / 10.0


@TRANSFORMS.register
class RandAugmentV3(RandAugment):
    """RandAugment with black fill and a chosen ``interpolation`` (PaddleClas's MobileViTV2 variant)."""

    def __init__(self, num_layers=2, magnitude=3, fillcolor=(0, 0, 0), interpolation="bicubic"):
        super().__init__(num_layers, magnitude, fillcolor, interpolation)


_TIMM_OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd",
             "Color", "Contrast", "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateX", "TranslateY")
#: ``rand-...`` config string key -> (attribute, parser).
_TIMM_KEYS = {"m": ("magnitude", float), "n": ("num_layers", int), "mstd": ("std", float), "p": ("prob", float),
              "inc": ("increasing", lambda value: bool(int(value)))}


def _timm_level(name, level, increasing):
    """timm's argument of op ``name`` at ``level`` in [0, 1] (``increasing``: the inc1 ops)."""
    if name in ("TranslateX", "TranslateY"):
        return _sign(0.45 * level)
    if name == "Posterize":
        return 4 - int(4 * level) if increasing else int(4 * level) + 4
    if name in _ENHANCE_OPS:
        return 1.0 + _sign(0.9 * level) if increasing else 0.1 + 1.8 * level
    return paper_level(name, level)


@TRANSFORMS.register
class TimmAutoAugment(_PilPolicy):
    """timm's RandAugment from a config string ``rand-m9-mstd0.5-inc1`` (``m`` magnitude / 10, ``n`` ops, ``mstd``
    magnitude noise, ``inc1`` increasing ops, ``p`` op probability), applied with probability ``prob``."""

    def __init__(self, config_str, img_size=224, interpolation="random", mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), prob=1.0):
        if not (isinstance(prob, (int, float)) and 0 <= prob <= 1):
            raise ConfigError(f"TimmAutoAugment.prob: expected a probability in [0, 1], got {prob!r}")
        self.policy_prob = float(prob)
        parts = str(config_str).split("-")
        if parts[0] != "rand":
            raise ConfigError(f"TimmAutoAugment.config_str: only 'rand-...' (RandAugment) strings are "
                              f"implemented, got {config_str!r}; use AutoAugment for the AutoAugment policy")
        self.magnitude, self.num_layers, self.std, self.prob, self.increasing = 10.0, 2, 0.0, 0.5, False
        for part in parts[1:]:
            key, value = re.match(r"([a-z]+)(.*)", part).groups() if part else ("", "")
            try:
                attr, parse = _TIMM_KEYS[key]
                setattr(self, attr, parse(value))
            except (KeyError, ValueError):
                raise ConfigError(f"TimmAutoAugment.config_str: cannot read {part!r} in {config_str!r} "
                                  "(known: m<magnitude>, n<ops>, mstd<std>, p<prob>, inc<0|1>)") from None
        if interpolation not in ("random", *_PIL_INTERP):
            raise ConfigError(f"TimmAutoAugment.interpolation: got {interpolation!r}; use bilinear, bicubic or random")
        self.interpolation, self.img_size = interpolation, img_size
        self.fill = tuple(int(round(c * 255)) for c in mean)

    def augment(self, img):
        if self.policy_prob < 1 and random.random() >= self.policy_prob:
            return img
        for name in (_TIMM_OPS[i] for i in np.random.randint(len(_TIMM_OPS), size=self.num_layers)):
            if random.random() > self.prob:
                continue
            magnitude = self.magnitude if self.std <= 0 else random.gauss(self.magnitude, self.std)
            level = min(10.0, max(0.0, magnitude)) / 10.0
            interp = random.choice(("bilinear", "bicubic")) if self.interpolation == "random" else self.interpolation
            img = IMAGE_OPS[name](img, _timm_level(name, level, self.increasing), self.fill, _PIL_INTERP[interp])
        return img


@TRANSFORMS.register
class RandomErasing:
    """Random erasing (Zhong et al. 2020) of ``[H, W, C]`` arrays: with probability ``EPSILON`` one rectangle of
    area fraction [``sl``, ``sh``], aspect [``r1``, 1/``r1``], filled by ``mode`` const (``mean``), rand or pixel."""

    def __init__(self, EPSILON=None, sl=None, sh=None, r1=None, mean=(0.0, 0.0, 0.0), attempt=100,
                 use_log_aspect=False, mode="const"):
        if mode not in ("const", "rand", "pixel"):
            raise ConfigError(f"RandomErasing.mode: expected const, rand or pixel, got {mode!r}")
        self.prob = parse_number(0.5 if EPSILON is None else EPSILON, "RandomErasing.EPSILON")
        self.area = (parse_number(0.02 if sl is None else sl, "RandomErasing.sl"),
                     parse_number(0.4 if sh is None else sh, "RandomErasing.sh"))
        r1 = parse_number(0.3 if r1 is None else r1, "RandomErasing.r1")
        self.ratio = (math.log(r1), math.log(1 / r1)) if use_log_aspect else (r1, 1 / r1)
        self.use_log_aspect, self.attempt, self.mode = use_log_aspect, attempt, mode
        self.mean = np.asarray(mean, dtype="float32")

    def __call__(self, img):
        if random.random() > self.prob:
            return img
        img = np.array(img)
        img_h, img_w, channels = img.shape
        for _ in range(self.attempt):
            target = random.uniform(*self.area) * img_h * img_w
            aspect = random.uniform(*self.ratio)
            aspect = math.exp(aspect) if self.use_log_aspect else aspect
            h, w = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if w < img_w and h < img_h:
                if self.mode == "pixel":
                    fill = np.random.normal(size=(h, w, channels))
                elif self.mode == "rand":
                    fill = np.random.normal(size=(1, 1, channels))
                else:
                    fill = self.mean.reshape(1, 1, -1)[..., :channels]
                top, left = random.randint(0, img_h - h), random.randint(0, img_w - w)
                img[top:top + h, left:left + w, :] = fill
                return img
        return img


@TRANSFORMS.register
class Cutout:
    """Zero (or ``fill_value``) ``n_holes`` squares of side ``length`` centred at random pixels
    (DeVries & Taylor 2017), clipped at the border. ``fill_value: null``: random colours."""

    def __init__(self, n_holes=1, length=112, fill_value=(0, 0, 0)):
        self.n_holes, self.length, self.fill = n_holes, length, fill_value

    def __call__(self, img):
        img = np.array(img)
        h, w = img.shape[:2]
        for _ in range(self.n_holes):
            y, x = np.random.randint(h), np.random.randint(w)
            y1, y2 = max(0, y - self.length // 2), min(h, y + self.length // 2)
            x1, x2 = max(0, x - self.length // 2), min(w, x + self.length // 2)
            img[y1:y2, x1:x2] = self.fill if self.fill is not None else [random.randint(0, 255) for _ in range(3)]
        return img


@TRANSFORMS.register
class GridMask:
    """GridMask (Chen et al. 2020): with probability ``prob`` hide a grid of period [``d1``, ``d2``), band
    ``ratio * d``, turned below ``rotate`` degrees; ``mode: 1`` inverts the mask."""

    def __init__(self, d1=96, d2=224, rotate=1, ratio=0.5, mode=0, prob=1.0):
        self.d1, self.d2, self.rotate, self.ratio, self.mode, self.prob = d1, d2, rotate, ratio, mode, prob

    def __call__(self, img):
        if np.random.rand() > self.prob:
            return img
        img = np.array(img)
        h, w = img.shape[:2]
        side = math.ceil(math.sqrt(h * h + w * w))
        d = np.random.randint(self.d1, self.d2)
        band = int(d * self.ratio + 0.5)
        st_h, st_w = np.random.randint(d), np.random.randint(d)
        mask = np.ones((side, side), np.float32)
        for i in range(-1, side // d + 1):
            mask[max(0, d * i + st_h):max(0, min(side, d * i + st_h + band)), :] = 0
            mask[:, max(0, d * i + st_w):max(0, min(side, d * i + st_w + band))] = 0
        angle = np.random.randint(self.rotate) if self.rotate > 1 else 0
        mask = np.asarray(Image.fromarray(mask).rotate(angle))
        top, left = (side - h) // 2, (side - w) // 2
        mask = mask[top:top + h, left:left + w]
        if self.mode == 1:
            mask = 1 - mask
        return (img * mask[:, :, None]).astype(img.dtype)


@TRANSFORMS.register
class HideAndSeek(NoArguments):
    """Hide-and-Seek (Singh & Lee 2017): split the image into a grid of side drawn from
    {0 (off), 16, 32, 44, 56} and hide each cell with probability 0.5."""

    grid_sizes = (0, 16, 32, 44, 56)
    hide_prob = 0.5

    def __call__(self, img):
        img = np.array(img)
        h, w = img.shape[:2]
        grid = self.grid_sizes[np.random.randint(len(self.grid_sizes))]
        if grid == 0:
            return img
        for y in range(0, h, grid):
            for x in range(0, w, grid):
                if random.random() <= self.hide_prob:
                    img[y:y + grid, x:x + grid] = 0
        return img


@TRANSFORMS.register
class ColorJitter(T.ColorJitter):
    """``paddle.vision.transforms.ColorJitter`` applied with probability ``prob`` (PaddleClas's
    default 2: always); arrays stay arrays, PIL images stay PIL images."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0, prob=2.0, keys=None):
        super().__init__(brightness, contrast, saturation, hue, keys)
        self.prob = prob

    def __call__(self, img):
        if np.random.random() >= self.prob:
            return img
        if isinstance(img, Image.Image):
            return self._apply_image(img)
        return np.asarray(self._apply_image(Image.fromarray(np.ascontiguousarray(img))))


@TRANSFORMS.register
class PCALighting(NoArguments):
    """AlexNet's PCA lighting noise: add ``eigvec @ (alpha * eigval)``, alpha ~ N(0, 0.1), per channel."""

    eigval = np.array([0.2175, 0.0188, 0.0045], dtype=np.float32)
    eigvec = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]],
                      dtype=np.float32)

    def __call__(self, img):
        alpha = np.random.normal(0, 0.1, size=3).astype(np.float32)
        return np.asarray(img) + (self.eigvec * (alpha * self.eigval)).sum(1).reshape(1, 1, 3)
