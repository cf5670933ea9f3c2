"""Image transforms by name (``transform_ops``): the classes of ``paddle.vision.transforms``.

Config shape (PaddleClas's)::

    transform_ops:
      - Resize: {size: 224}
      - ToTensor:
      - Normalize: {mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}

``ToTensor`` is :class:`ToTensor` below: Paddle's values, as a NumPy array. PaddleClas's own op
names (``DecodeImage`` ... ``NormalizeImage``; :mod:`paddle_conv.data.paddleclas_ops` and
:mod:`paddle_conv.data.augment`) are registered too; ``ColorJitter`` and ``RandomErasing`` are
PaddleClas's versions (its configs use those names with its arguments).
"""

import inspect

import numpy as np
import paddle.vision.transforms as T

from ..registry import Registry

TRANSFORMS = Registry("transform")


class ToTensor(T.ToTensor):
    """``paddle.vision.transforms.ToTensor``'s values (``[C, H, W]``, uint8 scaled to float32 in
    [0, 1]) as a NumPy array, which the DataLoader turns into one tensor per batch.

    Paddle 3.3's ``paddle.to_tensor`` keeps about 100 bytes per call for good, and its ToTensor
    and its tensor Normalize (the mean and the std) call it for every image: three calls per sample,
    ~0.65 MiB more memory each Digits epoch, without end. On arrays, Normalize works in NumPy.
    """

    def _apply_image(self, img):
        arr = np.asarray(img)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.dtype == np.uint8:
            arr = arr.astype(np.float32) / np.float32(255.0)
        return np.ascontiguousarray(arr.transpose(2, 0, 1) if self.data_format == "CHW" else arr)


#: paddle.vision names whose PaddleClas op of the same name is registered instead.
PADDLECLAS_NAMES = ("ColorJitter", "RandomErasing")

for _name, _cls in vars(T).items():
    if (inspect.isclass(_cls) and issubclass(_cls, T.BaseTransform) and _cls is not T.BaseTransform
            and _name not in PADDLECLAS_NAMES):
        TRANSFORMS.register(ToTensor if _cls is T.ToTensor else _cls, name=_name)


def build_transforms(ops, to_chw=True):
    """A ``paddle.vision.transforms.Compose`` of ``[{Name: {kwargs}}, ...]`` (None if ``ops`` is empty).

    A PaddleClas pipeline (first op ``DecodeImage``) gives ``[H, W, C]``; with ``to_chw`` (a data
    set's ops) it is followed by ``ToCHWImage`` unless it ends in one, as PaddleClas's data sets
    transpose their images. ``Infer.transforms`` are built with ``to_chw=False``.
    """
    if not ops:
        return None
    names = [next(iter(op)) for op in ops]
    built = [TRANSFORMS.build(name, **(next(iter(op.values())) or {})) for name, op in zip(names, ops)]
    if to_chw and names[0] == "DecodeImage" and names[-1] != "ToCHWImage":
        built.append(TRANSFORMS.build("ToCHWImage"))
    return T.Compose(built)
