"""Image transforms by name (``transform_ops``): the classes of ``paddle.vision.transforms`` and PaddleClas's ops
(:mod:`.paddleclas_ops`, :mod:`.augment`; ``ColorJitter`` and ``RandomErasing`` are PaddleClas's)."""

import inspect

import numpy as np
import paddle.vision.transforms as T

from ..registry import Registry

TRANSFORMS = Registry("transform")


class ToTensor(T.ToTensor):
    """``paddle.vision.transforms.ToTensor``'s values (``[C, H, W]`` float32 in [0, 1]) as a NumPy array: Paddle's
    leaks memory per call (docs/reliability.md)."""

    def _apply_image(self, img):
        arr = np.asarray(img)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(arr.transpose(2, 0, 1) if self.data_format == "CHW" else arr)


class NoArguments:
    """Base of an op without arguments: its explicit signature makes a config's extra key an error."""

    def __init__(self):
        pass


#: paddle.vision names whose PaddleClas op of the same name is registered instead.
PADDLECLAS_NAMES = ("ColorJitter", "RandomErasing")

for _name, _cls in vars(T).items():
    if (inspect.isclass(_cls) and issubclass(_cls, T.BaseTransform) and _cls is not T.BaseTransform
            and _name not in PADDLECLAS_NAMES):
        TRANSFORMS.register(ToTensor if _cls is T.ToTensor else _cls, name=_name)


def build_transforms(ops, to_chw=True):
    """A ``Compose`` of ``[{Name: {kwargs}}, ...]`` (None if empty); with ``to_chw`` a pipeline starting with
    ``DecodeImage`` ends in ``ToCHWImage``, as PaddleClas's data sets transpose their images."""
    if not ops:
        return None
    names = [next(iter(op)) for op in ops]
    built = [TRANSFORMS.build(name, **(next(iter(op.values())) or {})) for name, op in zip(names, ops)]
    if to_chw and names[0] == "DecodeImage" and names[-1] != "ToCHWImage":
        built.append(TRANSFORMS.build("ToCHWImage"))
    return T.Compose(built)
