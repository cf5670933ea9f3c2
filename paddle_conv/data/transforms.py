"""Image transforms by name (``transform_ops``): the classes of ``paddle.vision.transforms``.

Config shape (PaddleClas's)::

    transform_ops:
      - Resize: {size: 224}
      - ToTensor:
      - Normalize: {mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}
"""

import inspect

import paddle.vision.transforms as T

from ..registry import Registry

TRANSFORMS = Registry("transform")
for _name, _cls in vars(T).items():
    if inspect.isclass(_cls) and issubclass(_cls, T.BaseTransform) and _cls is not T.BaseTransform:
        TRANSFORMS.register(_cls, name=_name)


def build_transforms(ops):
    """A ``paddle.vision.transforms.Compose`` of ``[{Name: {kwargs}}, ...]`` (None if ``ops`` is empty)."""
    if not ops:
        return None
    built = []
    for op in ops:
        (name, kwargs), = op.items()
        built.append(TRANSFORMS.build(name, **(kwargs or {})))
    return T.Compose(built)
