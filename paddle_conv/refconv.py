"""Refocus a trained model into its RefConv form (:func:`refocus`) and fold it back (:func:`reparameterize`)."""

import paddle.nn as nn

from .fuse import reparameterize, replace_sublayers
from .layers.dense_conv import DenseConv2D
from .layers.depthwise import DepthwiseConv2D
from .layers.refconv2d import BASIS_MODES, TRANSFORM_INITS, RefConv2D
from .registry import ARCH_TRANSFORMS

__all__ = ["refocus", "reparameterize", "refocusable", "reset_random_bases"]


def refocusable(conv, min_kernel=3, map_k=3):
    """Whether :func:`refocus` turns ``conv`` into a RefConv2D: a plain (or fast) Conv2D, NCHW, zero padding
    mode, square kernel of at least ``max(min_kernel, map_k)``."""
    if type(conv) not in (nn.Conv2D, DenseConv2D, DepthwiseConv2D):
        return False
    kh, kw = conv._kernel_size
    return (kh == kw and kh >= max(min_kernel, map_k) and conv._padding_mode == "zeros"
            and conv._data_format == "NCHW")


def refocus(model, min_kernel=3, map_k=3, only_transforms=False, init="zero", basis="frozen"):
    """Turn every :func:`refocusable` conv of ``model`` into a :class:`RefConv2D` whose basis (and bias) are
    its trained values, in place; return ``model`` (options: :data:`refocus.options`, docs/refconv.md).

    ``init="zero"`` keeps the outputs exact until training; ``only_transforms=True`` freezes every other
    parameter; ``random_*`` bases need :func:`reset_random_bases` after loading plain weights.
    """
    if min_kernel < map_k:
        raise ValueError(f"refocus(min_kernel={min_kernel}, map_k={map_k}): a RefConv transform of size map_k needs "
                         f"kernels of at least map_k; use min_kernel >= {map_k} or a smaller map_k.")

    def convert(conv):
        if not refocusable(conv, min_kernel, map_k):
            return None
        dh, dw = conv._dilation
        sh, sw = conv._stride
        ref = RefConv2D(conv._in_channels, conv._out_channels, conv._kernel_size[0],
                        stride=sh if sh == sw else [sh, sw], padding=conv._padding, groups=conv._groups,
                        map_k=map_k, dilation=dh if dh == dw else [dh, dw], bias=conv.bias is not None,
                        init=init, basis=basis)
        ref.folds_into = type(conv)  # reparameterize restores the class it replaced
        if conv.weight._is_initialized():  # not a paddle.LazyGuard skeleton (shapes only, no values)
            if not basis.startswith("random"):
                ref.weight.set_value(conv.weight.detach())
            if conv.bias is not None:
                ref.bias.set_value(conv.bias.detach())
        if not conv.training:
            ref.eval()
        return ref

    if replace_sublayers(model, convert) == 0:
        raise ValueError(f"refocus found no Conv2D with a square kernel >= {max(min_kernel, map_k)} in "
                         f"{type(model).__name__}; lower min_kernel/map_k or pass a model with k x k convolutions.")
    if only_transforms:
        learning = {id(p) for layer in model.sublayers() if isinstance(layer, RefConv2D)
                    for p in layer.parameters()}
        for param in model.parameters():
            param.stop_gradient = id(param) not in learning
    return model


#: ``Arch.refocus``: ``true`` or these keys (``only_transforms`` defaults to true there).
refocus.options = {
    "min_kernel": (3, int, "smallest kernel refocused (1x1 convs stay plain)"),
    "map_k": (3, int, "kernel size of the refocusing transform"),
    "only_transforms": (True, bool, "freeze every parameter but the transforms"),
    "init": ("zero", TRANSFORM_INITS, "transforms start at zero (exact start) or Xavier (the seed's recipe)"),
    "basis": ("frozen", BASIS_MODES, "the trained kernels frozen (the seed), or an ablation"),
}
ARCH_TRANSFORMS.register(refocus)


def reset_random_bases(model):
    """Draw a new basis for every ``random_*`` :class:`RefConv2D` of ``model``; return the count."""
    return sum(layer.reset_random_basis() for layer in model.sublayers() if isinstance(layer, RefConv2D))
