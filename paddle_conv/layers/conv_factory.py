"""One factory for every convolution kind, so that a model builder swaps its conv by name.

Kinds (``CONV_KINDS.names()``): ``conv``, ``group``, ``dilated`` (dilation default 2), ``depthwise_separable``,
``deform``, ``refconv``, ``octave`` (takes and gives ``(x_h, x_l)`` pairs; the others ``[N, C, H, W]``).
"""

from ..registry import Registry
from .deform_conv import DeformConv2D
from .depthwise_separable import DepthwiseSeparableConv
from .fast_conv import fast_conv_class
from .octconv import OctaveConv
from .refconv2d import RefConv2D

__all__ = ["CONV_KINDS", "create_conv2d"]

CONV_KINDS = Registry("conv kind")


@CONV_KINDS.register(name="conv")
def _plain(cin, cout, k, stride, padding, dilation, groups, bias):
    return fast_conv_class(cin, cout, k, groups)(cin, cout, k, stride=stride, padding=padding, dilation=dilation,
                                                 groups=groups, bias_attr=None if bias else False)


CONV_KINDS.register(_plain, name="dilated")  # a plain conv whose dilation defaults to 2


@CONV_KINDS.register(name="group")
def _group(cin, cout, k, stride, padding, dilation, groups, bias):
    if groups < 2:
        raise ValueError(f"create_conv2d('group', ...) got groups={groups}: pass groups=G > 1 dividing both "
                         f"in_channels={cin} and out_channels={cout}, or use kind 'conv'.")
    return _plain(cin, cout, k, stride, padding, dilation, groups, bias)


@CONV_KINDS.register(name="depthwise_separable")
def _separable(cin, cout, k, stride, padding, dilation, groups, bias):
    if groups != 1:
        raise ValueError("create_conv2d('depthwise_separable', ...) takes no groups: its depthwise part "
                         "already has groups=in_channels; drop the groups argument.")
    return DepthwiseSeparableConv(cin, cout, k, stride=stride, padding=padding, dilation=dilation, bias=bias)


@CONV_KINDS.register(name="deform")
def _deform(cin, cout, k, stride, padding, dilation, groups, bias, deformable_groups=1, modulated=True):
    return DeformConv2D(cin, cout, k, stride=stride, padding=padding, dilation=dilation, groups=groups,
                        deformable_groups=deformable_groups, modulated=modulated, bias=bias)


@CONV_KINDS.register(name="refconv")
def _refconv(cin, cout, k, stride, padding, dilation, groups, bias, map_k=3):
    return RefConv2D(cin, cout, k, stride=stride, padding=padding, groups=groups, map_k=map_k,
                     dilation=dilation, bias=bias)


@CONV_KINDS.register(name="octave")
def _octave(cin, cout, k, stride, padding, dilation, groups, bias, alpha_in=0.5, alpha_out=0.5):
    return OctaveConv(cin, cout, k, alpha_in=alpha_in, alpha_out=alpha_out, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, bias=bias)


def create_conv2d(kind, in_channels, out_channels, kernel_size, stride=1, padding=None, dilation=None,
                  groups=1, bias=False, **kw):
    """A convolution of ``kind``; ``padding`` None is "same" (``dilation * (k - 1) // 2``); kind-specific
    keywords (``deformable_groups``, ``map_k``, ``alpha_in``, ...) pass through. Unknown kinds: UnknownNameError."""
    builder = CONV_KINDS.get(kind)
    if dilation is None:
        dilation = 2 if kind == "dilated" else 1
    if padding is None:
        padding = dilation * (kernel_size - 1) // 2
    return builder(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, **kw)
