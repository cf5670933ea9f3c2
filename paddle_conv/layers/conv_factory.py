"""One factory for every convolution kind, so that a model builder swaps its conv by name:

    conv = create_conv2d("deform", 64, 64, 3, stride=2)     # DCNv2
    conv = create_conv2d(cfg["conv"], 64, 64, 3)            # e.g. Arch: {conv: refconv}

Kinds (``CONV_KINDS.names()``): ``conv`` (``nn.Conv2D``), ``group`` (grouped, needs ``groups``),
``dilated`` (atrous, ``dilation`` default 2), ``depthwise_separable``, ``deform``
(:class:`DeformConv2D`), ``refconv`` (:class:`RefConv2D`), ``octave`` (:class:`OctaveConv`).

Common keywords: ``stride=1``, ``padding=None`` (``dilation * (k - 1) // 2``, "same" for odd ``k``
at stride 1), ``dilation``, ``groups``, ``bias=False``; kind-specific ones (``deformable_groups``,
``modulated``, ``map_k``, ``alpha_in``, ``alpha_out``) are passed through. Every kind maps
``[N, C_in, H, W]`` to ``[N, C_out, H', W']`` except ``octave``, whose input and output are
``(x_h, x_l)`` pairs (see :class:`OctaveConv`): it fits octave-aware models only.
"""


from ..registry import Registry
from .deform_conv import DeformConv2D
from .depthwise_separable import DepthwiseSeparableConv
from .fast_conv import fast_conv_class
from .octconv import OctaveConv
from .refconv import RefConv2D

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
        raise ValueError(
            f"create_conv2d('group', ...) got groups={groups}: pass groups=G > 1 dividing both "
            f"in_channels={cin} and out_channels={cout}, or use kind 'conv'."
        )
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
    """Build a convolution of ``kind`` (see the module docstring); unknown kinds raise
    :class:`~paddle_conv.errors.UnknownNameError` naming the closest kinds."""
    builder = CONV_KINDS.get(kind)
    if dilation is None:
        dilation = 2 if kind == "dilated" else 1
    if padding is None:
        padding = dilation * (kernel_size - 1) // 2
    return builder(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, **kw)
