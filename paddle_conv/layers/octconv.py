"""Octave convolution (Chen et al., ICCV 2019, arXiv:1904.05049) and its exact inference forms.

A map is split into ``x_h`` ``[N, (1 - a) C, H, W]`` and ``x_l`` ``[N, a C, ceil(H / 2), ceil(W / 2)]``;
parameter names and channel splits follow d-li14/octconv.pytorch. Any input size works: pooling uses
``ceil_mode`` and the up-sampled l2h output is cropped to the high branch's size (no-ops at even sizes).
Inference forms (:class:`Formulation`, docs/benchmarks.md) equal the layer within float32 rounding.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..fuse import bn_affine, scale_conv
from .fast_conv import fast_conv_class
from .octave_resample import avg_pool2x2, takes_native_resample, upsample_add

__all__ = ["OctaveConv", "Conv_BN", "Conv_BN_ACT", "ExportOctaveConv", "Formulation", "RULE", "check_feature_map",
           "crop_to", "downsample", "upsample_to"]


def downsample(x):
    """2x2 average pooling, stride 2, ``[N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)]``."""
    if takes_native_resample(x):
        return avg_pool2x2(x)
    return F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True, exclusive=True)


@paddle.jit.not_to_static  # reads the traced shapes (-1 where dynamic) as plain ints
def upsample_to(x, like):
    """Nearest 2x up-sampling of ``x`` ``[N, C, h, w]`` cropped to the size of ``like`` (None: ``[N, C, 2h, 2w]``).

    Eager: expand + reshape. Static graphs: a 2x2 stride-2 transposed conv with 0/1 weights (a oneDNN
    kernel every backend exports; why: docs/benchmarks.md).
    """
    if paddle.in_dynamic_mode():
        n, c, h, w = x.shape
        y = x.unsqueeze([3, 5]).expand([-1, -1, -1, 2, -1, 2]).reshape([n, c, h * 2, w * 2])
    else:
        weight = _unit_deconv_weight(x.shape[1], x.dtype)
        y = F.conv2d_transpose(x, weight, stride=2, groups=x.shape[1] // weight.shape[1])
    return y if like is None else crop_to(y, like)


@paddle.jit.not_to_static  # reads the traced shapes (-1 where dynamic) as plain ints
def crop_to(y, like):
    """``y`` ``[N, C, 2h, 2w]`` cropped to the spatial size of ``like`` (no crop op when the sizes are known)."""
    out_h, out_w = like.shape[2], like.shape[3]
    if paddle.in_dynamic_mode():
        return y if (out_h, out_w) == tuple(y.shape[2:]) else y[:, :, :out_h, :out_w]
    if min(y.shape[2], y.shape[3], out_h, out_w) > 0 and (out_h, out_w) == (y.shape[2], y.shape[3]):
        return y
    size = paddle.shape(like)
    return paddle.slice(y, axes=[2, 3], starts=[0, 0], ends=[size[2], size[3]])


def check_feature_map(x, channels, who):
    """Raise ValueError naming ``who`` unless ``x`` is one tensor ``[N, channels, H, W]`` (``-1`` dims pass)."""
    if isinstance(x, (tuple, list)):
        raise ValueError(f"{who} expects one tensor [N, {channels}, H, W], got a {type(x).__name__} of {len(x)} "
                         "items; pass the batch itself (only OctaveConv layers with alpha_in > 0 take a "
                         "(x_h, x_l) tuple)")
    if not hasattr(x, "shape") or not hasattr(x, "stop_gradient"):
        raise ValueError(f"{who} expects a paddle Tensor [N, {channels}, H, W], got {type(x).__name__}; "
                         "convert it with paddle.to_tensor(x)")
    shape = list(x.shape)
    if len(shape) != 4:
        fix = "add the batch axis with x.unsqueeze(0)" if len(shape) == 3 else "reshape it to [N, C, H, W]"
        raise ValueError(f"{who} expects a 4-D tensor [N, {channels}, H, W], got shape {shape}; {fix}")
    if channels is not None and shape[1] >= 0 and shape[1] != channels:
        raise ValueError(f"{who} expects {channels} channels, got {shape[1]} (input shape {shape}); "
                         f"pass a [N, {channels}, H, W] tensor")


def _unit_deconv_weight(channels, dtype):
    """Transposed-conv weight copying channel ``c`` to output ``c``: ``[C, 2, 2, 2]`` (``[C, 1, 2, 2]`` for odd C)."""
    per_group = 2 if channels % 2 == 0 else 1
    weight = np.zeros([channels, per_group, 2, 2], dtype="float32")
    weight[np.arange(channels), np.arange(channels) % per_group] = 1.0
    return paddle.to_tensor(weight, dtype=dtype)


UPSAMPLES = ("deconv", "broadcast", "dense")
MERGES = ("merge_high", "merge_low")


@dataclass(frozen=True)
class Formulation:
    """One way of computing an OctaveConv, ``name`` e.g. ``merge_low+broadcast``: ``merge_high`` (h2h and h2l as
    one 1x1 conv, pooled after), ``merge_low`` (l2h and l2l as one conv), ``upsample`` of l2h: ``deconv`` (the
    layer's own), ``broadcast`` (a 6-D view add) or ``dense`` (1x1 l2h as one 2x2 stride-2 transposed conv)."""

    merge_high: bool = False
    merge_low: bool = False
    upsample: str = "deconv"

    @property
    def name(self):
        return "+".join([p for p in MERGES if getattr(self, p)] + [self.upsample])

    @classmethod
    def parse(cls, name):
        parts = name.split("+")
        unknown = [p for p in parts if p not in MERGES + UPSAMPLES]
        if unknown or len([p for p in parts if p in UPSAMPLES]) > 1:
            raise ValueError(f"unknown OctConv formulation {name!r}: join merge_high, merge_low and one of "
                             f"{', '.join(UPSAMPLES)} with '+', e.g. merge_low+broadcast")
        return cls("merge_high" in parts, "merge_low" in parts, ([p for p in parts if p in UPSAMPLES] or ["deconv"])[0])


#: The formulation used without tuning (the layer's own static form; fastest measured, docs/benchmarks.md).
RULE = Formulation()


def _mergeable(*convs):
    return all(c is not None and c._groups == 1 for c in convs)


def applies(conv, formulation):
    """Whether ``formulation`` can compute OctaveConv ``conv``."""
    if formulation.merge_high and not (_mergeable(conv.conv_h2h, conv.conv_h2l)
                                       and conv.conv_h2h._kernel_size == [1, 1]):
        return False
    if formulation.merge_low and not (conv.stride == 1 and _mergeable(conv.conv_l2h, conv.conv_l2l)):
        return False
    dense_l2h = (conv.stride == 1 and conv.conv_h2h is not None and _mergeable(conv.conv_l2h)
                 and conv.conv_l2h._kernel_size == [1, 1])
    return formulation.upsample != "dense" or (dense_l2h and not formulation.merge_low)


def candidates(conv):
    """Every formulation that applies to ``conv``; the ones differing only in an unused part are dropped."""
    has_up = conv.conv_l2h is not None and conv.conv_h2h is not None and conv.stride == 1
    forms = itertools.product((False, True), (False, True), UPSAMPLES if has_up else ("deconv",))
    return [f for f in itertools.starmap(Formulation, forms) if applies(conv, f)]


def fit(conv, formulation):
    """``formulation`` with the parts that do not apply to ``conv`` switched off."""
    merge_high = formulation.merge_high and applies(conv, Formulation(merge_high=True))
    merge_low = formulation.merge_low and applies(conv, Formulation(merge_low=True))
    fitted = Formulation(merge_high, merge_low, formulation.upsample)
    return fitted if applies(conv, fitted) else Formulation(merge_high, merge_low, "deconv")


def _concat_convs(first, second):
    """One Conv2D computing ``concat([first(x), second(x)], axis=1)`` (same input, kernel, padding)."""
    merged = nn.Conv2D(first._in_channels, first._out_channels + second._out_channels, first._kernel_size,
                       first._stride, first._padding, first._dilation, 1,
                       bias_attr=None if (first.bias is not None or second.bias is not None) else False)
    merged.weight.set_value(paddle.concat([first.weight, second.weight], axis=0))
    if merged.bias is not None:
        merged.bias.set_value(paddle.concat([c.bias if c.bias is not None else paddle.zeros([c._out_channels])
                                             for c in (first, second)]))
    return merged


def _add_upsampled(y_h, l2h, how):
    """``y_h + nearest_up(l2h)`` cropped to ``y_h``'s size, computed as ``how`` says."""
    if takes_native_resample(y_h) and l2h.shape[2:] == [(size + 1) // 2 for size in y_h.shape[2:]]:
        return upsample_add(y_h, l2h)
    if how == "deconv" or paddle.in_dynamic_mode():
        return y_h + upsample_to(l2h, y_h)
    _, c, h, w = l2h.shape
    big_h, big_w = y_h.shape[2], y_h.shape[3]
    if min(c, h, w) <= 0 or (big_h, big_w) != (2 * h, 2 * w):  # dynamic or odd sizes: crop needed
        return y_h + upsample_to(l2h, y_h)
    out = y_h.reshape([-1, c, h, 2, w, 2]) + l2h.reshape([-1, c, h, 1, w, 1])
    return out.reshape([-1, c, big_h, big_w])


class _OctaveForward(nn.Layer):
    """The forward pass shared by :class:`OctaveConv` and :class:`ExportOctaveConv` (``formulation`` picks it)."""

    formulation = RULE

    def _high(self, x_h):
        """``(y_h, y_l)`` of the high-frequency input alone."""
        if self.stride == 2:
            x_h = downsample(x_h)
        if self.formulation.merge_high:
            y_h, y_l = paddle.split(self.conv_high(x_h), list(self.channels_out), axis=1)
            return y_h, downsample(y_l)
        return (self.conv_h2h(x_h) if self.conv_h2h is not None else None,
                self.conv_h2l(downsample(x_h)) if self.conv_h2l is not None else None)

    def _split_input(self, x):
        return x if isinstance(x, (tuple, list)) else (x, None)

    def forward(self, x):
        x_h, x_l = self._split_input(x)
        y_h, y_l = self._high(x_h) if x_h is not None else (None, None)
        if x_l is None:
            return y_h, y_l
        dense = self.formulation.upsample == "dense"
        if self.formulation.merge_low:
            l2h, l2l = paddle.split(self.conv_low(x_l), list(self.channels_out), axis=1)
        else:
            l2l = self.conv_l2l(downsample(x_l) if self.stride == 2 else x_l) if self.conv_l2l is not None else None
            l2h = self.conv_l2h(x_l) if self.conv_l2h is not None and not dense else None
        if l2l is not None:
            y_l = l2l if y_l is None else y_l + l2l
        if dense:  # up(l2h) as one op; y_h exists (see applies)
            return y_h + crop_to(F.conv2d_transpose(x_l, self.l2h_dense, self.conv_l2h.bias, stride=2), y_h), y_l
        if l2h is not None:
            if y_h is None:  # no high-frequency input (alpha_in = 1)
                y_h = upsample_to(l2h, None) if self.stride == 1 else l2h
            elif self.stride == 2:
                y_h = y_h + l2h
            else:
                y_h = _add_upsampled(y_h, l2h, self.formulation.upsample)
        return y_h, y_l


class OctaveConv(_OctaveForward):
    """Octave convolution: h2h, h2l (after 2x2 pooling), l2h (then nearest up-sampling) and l2l; ``alpha_in``,
    ``alpha_out``: low-frequency fraction of the channels (docs/octconv.md); ``stride`` 1 or 2 (pooling first);
    ``groups == in_channels``: depthwise (h2h and l2l only). ``[N, C_in, H, W]`` or ``(x_h, x_l)`` in; out
    ``y_h`` ``[N, C_out - int(a_out C_out), H', W']`` (None if ``alpha_out == 1``), ``y_l`` ``[N, int(a_out C_out),
    ceil(H'/2), ceil(W'/2)]`` (None if 0).
    """

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False):
        super().__init__()
        for name, alpha in (("alpha_in", alpha_in), ("alpha_out", alpha_out)):
            if not 0 <= alpha <= 1:
                raise ValueError(f"OctaveConv {name}={alpha} is outside [0, 1]: it is the fraction of channels in "
                                 "the low-frequency branch; use 0 for a plain (all high-frequency) input/output, "
                                 "1 for an all-low-frequency one, and e.g. 0.5 otherwise.")
        if stride not in (1, 2):
            raise ValueError(f"OctaveConv stride={stride} is not supported: use 1 or 2 (stride 2 pools 2x2).")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"OctaveConv in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups}: use channel counts that are multiples of groups, or a "
                             f"groups value dividing both (1 for a dense convolution, in_channels for depthwise).")
        self.stride = stride
        self.alpha_in, self.alpha_out = alpha_in, alpha_out
        self.is_dw = groups == in_channels
        lo_in, lo_out = int(alpha_in * in_channels), int(alpha_out * out_channels)
        hi_in, hi_out = in_channels - lo_in, out_channels - lo_out
        self.channels_in = (hi_in, lo_in)
        self.channels_out = (hi_out, lo_out)

        def conv(cin, cout, g):
            return fast_conv_class(cin, cout, kernel_size, g)(cin, cout, kernel_size, 1, padding, dilation, g,
                                                              bias_attr=None if bias else False)

        has_lo_in, has_lo_out = alpha_in > 0, alpha_out > 0
        has_hi_in, has_hi_out = alpha_in < 1, alpha_out < 1
        self.conv_h2h = (conv(hi_in, hi_out, math.ceil(groups - alpha_in * groups))
                         if has_hi_in and has_hi_out else None)
        self.conv_h2l = conv(hi_in, lo_out, groups) if has_hi_in and has_lo_out and not self.is_dw else None
        self.conv_l2h = conv(lo_in, hi_out, groups) if has_lo_in and has_hi_out and not self.is_dw else None
        self.conv_l2l = conv(lo_in, lo_out, math.ceil(alpha_in * groups)) if has_lo_in and has_lo_out else None

    def _split_input(self, x):
        if isinstance(x, (tuple, list)) and len(x) != 2:
            raise ValueError(f"OctaveConv takes a tensor or a (x_h, x_l) pair, got a {type(x).__name__} of "
                             f"{len(x)} items; pass (x_h, x_l) as returned by the previous octave layer")
        x_h, x_l = x if isinstance(x, (tuple, list)) else (x, None)
        if self.alpha_in > 0 and x_l is None:
            raise ValueError(f"OctaveConv(alpha_in={self.alpha_in}) needs a (x_h, x_l) tuple with a low-frequency "
                             f"part; for a plain tensor input use alpha_in=0.")
        if self.alpha_in == 0 and x_l is not None:
            raise ValueError("OctaveConv(alpha_in=0) got a low-frequency input x_l; set alpha_in to the fraction "
                             "of input channels in x_l (e.g. 0.5).")
        if (self.alpha_in == 1) != (x_h is None):
            raise ValueError(
                f"OctaveConv(alpha_in={self.alpha_in}) got {'no' if x_h is None else 'a'} high-frequency input "
                f"x_h; alpha_in=1 takes (None, x_l) (all channels low-frequency), smaller alphas need x_h."
            )
        hi_in, lo_in = self.channels_in
        if x_h is not None:
            check_feature_map(x_h, hi_in, f"OctaveConv(in_channels={hi_in + lo_in}, alpha_in={self.alpha_in}) x_h")
        if x_l is not None:
            check_feature_map(x_l, lo_in, f"OctaveConv(in_channels={hi_in + lo_in}, alpha_in={self.alpha_in}) x_l")
        return x_h, x_l

    def export_forms(self):
        """Names of this layer's exact inference forms (:class:`Formulation`), the measured rule first."""
        rule = fit(self, RULE)
        return [rule.name] + [f.name for f in candidates(self) if f != rule]

    def export_form(self, name=None):
        """An :class:`ExportOctaveConv` computing ``name`` (default :data:`RULE`; parts that do not apply off)."""
        return ExportOctaveConv(self, fit(self, Formulation.parse(name) if name else RULE))


class ExportOctaveConv(_OctaveForward):
    """An OctaveConv's inference form computed as ``formulation`` (merged convs: ``conv_high``, ``conv_low``)."""

    def __init__(self, conv, formulation):
        super().__init__()
        if not applies(conv, formulation):
            raise ValueError(f"formulation {formulation.name} does not apply to this OctaveConv")
        self.formulation = formulation
        self.stride = conv.stride
        self.channels_out = conv.channels_out
        if formulation.merge_high:
            self.conv_high = _concat_convs(conv.conv_h2h, conv.conv_h2l)
        else:
            self.conv_h2h, self.conv_h2l = conv.conv_h2h, conv.conv_h2l
        if formulation.merge_low:
            self.conv_low = _concat_convs(conv.conv_l2h, conv.conv_l2l)
        else:
            self.conv_l2h, self.conv_l2l = conv.conv_l2h, conv.conv_l2l
        if formulation.upsample == "dense":  # [C_l_in, C_h_out, 2, 2]: the 1x1 weight in every tap
            weight = conv.conv_l2h.weight.transpose([1, 0, 2, 3]).tile([1, 1, 2, 2])
            self.l2h_dense = self.create_parameter(weight.shape, default_initializer=nn.initializer.Assign(weight))


class Conv_BN(nn.Layer):
    """OctaveConv followed by a norm layer (``bn_h``, ``bn_l``) and, given, an ``activation_layer`` (``act``) per
    branch; output ``(y_h, y_l)``."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2D, activation_layer=None):
        super().__init__()
        self.conv = OctaveConv(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                               dilation, groups, bias)
        hi_out, lo_out = self.conv.channels_out
        self.bn_h = norm_layer(hi_out) if alpha_out < 1 else None
        self.bn_l = norm_layer(lo_out) if alpha_out > 0 else None
        self.act = activation_layer() if activation_layer is not None else nn.Identity()

    def fuse_bn(self):
        """Fold ``bn_h`` into ``conv_h2h`` / ``conv_l2h`` and ``bn_l`` into ``conv_l2l`` / ``conv_h2l`` (eval mode)."""
        for bn_name, main, extra in (("bn_h", "conv_h2h", "conv_l2h"), ("bn_l", "conv_l2l", "conv_h2l")):
            bn = getattr(self, bn_name)
            if not isinstance(bn, nn.BatchNorm2D):
                continue
            s, t = bn_affine(bn)
            convs = [c for c in (getattr(self.conv, main), getattr(self.conv, extra)) if c is not None]
            scale_conv(convs[0], s, t)  # the first existing branch takes the shift
            for conv in convs[1:]:
                scale_conv(conv, s, None)
            setattr(self, bn_name, nn.Identity())

    def forward(self, x):
        y_h, y_l = self.conv(x)
        y_h = self.act(self.bn_h(y_h)) if y_h is not None else None
        y_l = self.act(self.bn_l(y_l)) if y_l is not None else None
        return y_h, y_l


class Conv_BN_ACT(Conv_BN):
    """OctaveConv, norm layer and activation (``activation_layer``, default ReLU) per branch."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2D,
                 activation_layer=nn.ReLU):
        super().__init__(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                         dilation, groups, bias, norm_layer, activation_layer)
