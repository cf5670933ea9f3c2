"""Octave convolution (Chen et al., "Drop an Octave: Reducing Spatial Redundancy in
Convolutional Neural Networks with Octave Convolution", ICCV 2019, arXiv:1904.05049).

A feature map is split into a high-frequency part ``x_h`` ``[N, (1 - a) C, H, W]`` and a
low-frequency part ``x_l`` ``[N, a C, ceil(H / 2), ceil(W / 2)]``. Four convolutions exchange
information between them: h2h, h2l (after 2x2 average pooling), l2h (followed by nearest
up-sampling) and l2l. Parameter names (``conv_h2h``, ``conv_h2l``, ``conv_l2h``, ``conv_l2l``;
``bn_h``, ``bn_l``), channel splits and group counts follow d-li14/octconv.pytorch, so its
checkpoints map one to one.

Any input size works (the reference fails when H or W is odd at some stage): pooling uses
``ceil_mode`` and averages only the pixels inside the map, so the low branch of an ``H x W``
map is ``ceil(H / 2) x ceil(W / 2)``; the up-sampled l2h output is cropped to the high branch's
exact size. For even sizes both rules are no-ops and the results equal the reference's.

Inference forms (:meth:`OctaveConv.export_forms`, for :mod:`paddle_conv.deploy`), each a :class:`Formulation`,
equal within float32 rounding (tested at 1e-5): ``merge_high`` (1x1, no groups: h2h and h2l as ONE convolution,
its h2l part pooled after, as a 1x1 convolution and the 2x2 average commute), ``merge_low`` (stride 1, no groups:
l2h and l2l as ONE convolution) and how ``y_h + up(l2h)`` is computed: ``deconv`` (the layer's own static form),
``broadcast`` (a ``[N, C, h, 2, w, 2]`` view plus ``[N, C, h, 1, w, 1]``; static even sizes) or ``dense`` (1x1
l2h, stride 1: ONE 2x2 stride-2 transposed convolution with the 1x1 weight in every tap). :data:`RULE` measured
fastest in Paddle Inference and ONNX Runtime on a 2-core AMD EPYC; ``tools/export.py --tune`` times the others.
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

__all__ = ["OctaveConv", "Conv_BN", "Conv_BN_ACT", "ExportOctaveConv", "Formulation", "RULE", "check_feature_map",
           "crop_to", "downsample", "upsample_to"]


def downsample(x):
    """2x2 average pooling, stride 2, ``[N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)]``."""
    return F.avg_pool2d(x, kernel_size=2, stride=2, ceil_mode=True, exclusive=True)


@paddle.jit.not_to_static  # reads the traced shapes (-1 where dynamic) as plain ints
def upsample_to(x, like):
    """Nearest 2x up-sampling of ``x`` ``[N, C, h, w]`` cropped to the spatial size of ``like``
    (``like=None``: not cropped, ``[N, C, 2h, 2w]``).

    Eager mode: expand + reshape (a copy, no arithmetic). Static graphs (``to_static``, export):
    a 2x2 stride-2 transposed convolution with 0/1 weights, which equals nearest up-sampling
    exactly, runs as a oneDNN kernel and exports to every backend (oneDNN rejects interpolate's
    scale attribute). Measured in the Inference predictor, expand (no oneDNN kernel) cost about 15%
    of Oct-ResNet-50's time in layout conversions, and so did Paddle's depthwise transposed conv:
    hence groups of two channels, each copied through an identity 2x2 block.
    The crop is left out of the graph when the exported sizes are known and even.
    """
    if paddle.in_dynamic_mode():
        n, c, h, w = x.shape
        y = x.unsqueeze([3, 5]).expand([-1, -1, -1, 2, -1, 2]).reshape([n, c, h * 2, w * 2])
        if like is None:
            return y
        out_h, out_w = like.shape[2], like.shape[3]
        return y if (out_h, out_w) == (2 * h, 2 * w) else y[:, :, :out_h, :out_w]
    weight = _unit_deconv_weight(x.shape[1], x.dtype)
    y = F.conv2d_transpose(x, weight, stride=2, groups=x.shape[1] // weight.shape[1])
    return y if like is None else crop_to(y, like)


@paddle.jit.not_to_static  # reads the traced shapes (-1 where dynamic) as plain ints
def crop_to(y, like):
    """``y`` ``[N, C, 2h, 2w]`` (an up-sampled map) cropped to the spatial size of ``like``; no
    crop in the graph when the sizes are known and equal."""
    out_h, out_w = like.shape[2], like.shape[3]
    if paddle.in_dynamic_mode():
        return y if (out_h, out_w) == tuple(y.shape[2:]) else y[:, :, :out_h, :out_w]
    if min(y.shape[2], y.shape[3], out_h, out_w) > 0 and (out_h, out_w) == (y.shape[2], y.shape[3]):
        return y
    size = paddle.shape(like)
    return paddle.slice(y, axes=[2, 3], starts=[0, 0], ends=[size[2], size[3]])


def check_feature_map(x, channels, who):
    """Raise ValueError naming ``who`` unless ``x`` is one tensor ``[N, channels, H, W]``.

    A misuse (a tuple or a NumPy array where a tensor belongs, a missing batch axis, the wrong
    channel count) would otherwise surface as an unrelated error deep inside a convolution.
    Dimensions unknown until run time (``-1`` in a static graph) are not checked.
    """
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
    """Weight of a transposed conv copying channel ``c`` to output ``c``: ``[C, 2, 2, 2]`` for groups
    of two channels, or ``[C, 1, 2, 2]`` (depthwise, no oneDNN kernel) when C is odd."""
    per_group = 2 if channels % 2 == 0 else 1
    weight = np.zeros([channels, per_group, 2, 2], dtype="float32")
    weight[np.arange(channels), np.arange(channels) % per_group] = 1.0
    return paddle.to_tensor(weight, dtype=dtype)


def _check_alpha(name, alpha):
    if not 0 <= alpha <= 1:
        raise ValueError(
            f"OctaveConv {name}={alpha} is outside [0, 1]: it is the fraction of channels in the "
            f"low-frequency branch; use 0 for a plain (all high-frequency) input/output, 1 for an "
            f"all-low-frequency one, and e.g. 0.5 otherwise."
        )


class OctaveConv(nn.Layer):
    """Octave convolution.

    Args:
        in_channels, out_channels: total channels (high + low).
        kernel_size, padding, dilation, bias: as for ``nn.Conv2D`` (every branch).
        alpha_in, alpha_out: fraction of input / output channels at low frequency, in [0, 1]
            (the seed's range). ``alpha_in=0`` takes a plain tensor (first layer), ``alpha_out=0``
            gives ``y_l=None`` (last layer); ``alpha_in=1`` takes ``(None, x_l)``, ``alpha_out=1``
            gives all-low-frequency maps ``(None, y_l)``.
        stride: 1 or 2; stride 2 is 2x2 average pooling before the convolutions.
        groups: groups of the full convolution; ``groups == in_channels`` is depthwise, where
            only h2h and l2l exist (split as the reference: ``ceil((1 - a) g)`` and ``ceil(a g)``).

    Input: ``x`` ``[N, C_in, H, W]`` or a tuple ``(x_h, x_l)``.
    Output: ``(y_h, y_l)``, ``y_h`` ``[N, C_out - int(a_out C_out), H', W']`` or None when
    ``alpha_out == 1``, ``y_l`` ``[N, int(a_out C_out), ceil(H'/2), ceil(W'/2)]`` or None when
    ``alpha_out == 0``. With ``alpha_in == 1`` there is no high-frequency input: ``H' = 2 h'``
    for the low-frequency input's ``h'`` (stride 1).
    """

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False):
        super().__init__()
        _check_alpha("alpha_in", alpha_in)
        _check_alpha("alpha_out", alpha_out)
        if stride not in (1, 2):
            raise ValueError(f"OctaveConv stride={stride} is not supported: use 1 or 2 (stride 2 pools 2x2).")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"OctaveConv in_channels={in_channels} and out_channels={out_channels} must both be "
                f"divisible by groups={groups}: use channel counts that are multiples of groups, or a "
                f"groups value dividing both (1 for a dense convolution, in_channels for depthwise)."
            )
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
            raise ValueError(
                f"OctaveConv(alpha_in={self.alpha_in}) needs a (x_h, x_l) tuple with a low-frequency "
                f"part; for a plain tensor input use alpha_in=0."
            )
        if self.alpha_in == 0 and x_l is not None:
            raise ValueError(
                "OctaveConv(alpha_in=0) got a low-frequency input x_l; set alpha_in to the fraction "
                "of input channels in x_l (e.g. 0.5)."
            )
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

    def forward(self, x):
        x_h, x_l = self._split_input(x)
        y_h = y_l = None
        if x_h is not None:
            if self.stride == 2:
                x_h = downsample(x_h)
            y_h = self.conv_h2h(x_h) if self.conv_h2h is not None else None
            y_l = self.conv_h2l(downsample(x_h)) if self.conv_h2l is not None else None
        if x_l is None:
            return y_h, y_l
        if self.conv_l2l is not None:
            l2l = self.conv_l2l(downsample(x_l) if self.stride == 2 else x_l)
            y_l = l2l if y_l is None else y_l + l2l
        if self.conv_l2h is not None:
            l2h = self.conv_l2h(x_l)
            l2h = upsample_to(l2h, y_h) if self.stride == 1 else l2h
            y_h = l2h if y_h is None else y_h + l2h
        return y_h, y_l

    def export_forms(self):
        """Names of this layer's exact inference forms (:class:`Formulation`), the measured rule first."""
        rule = fit(self, RULE)
        return [rule.name] + [f.name for f in candidates(self) if f != rule]

    def export_form(self, name=None):
        """The inference form ``name`` of this layer (eval mode, norms folded): an :class:`ExportOctaveConv`
        computing the :class:`Formulation` ``name`` (its parts that do not apply switched off), else :data:`RULE`."""
        return ExportOctaveConv(self, fit(self, Formulation.parse(name) if name else RULE))


UPSAMPLES = ("deconv", "broadcast", "dense")
MERGES = ("merge_high", "merge_low")


@dataclass(frozen=True)
class Formulation:
    """One way of computing an OctaveConv (see the module docstring); ``name`` e.g. ``merge_low+broadcast``."""

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


#: The formulation used without tuning: the layer's own static form (four convolutions, 0/1 transposed-conv
#: up-sampling), fastest in the Paddle Inference predictor and in ONNX Runtime on a 2-core AMD EPYC at batch 1
#: and 8 (docs/benchmarks.md); ``--tune`` times the others on the exporting machine, where they may win.
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
    f = formulation
    if f.merge_high and not applies(conv, Formulation(merge_high=True)):
        f = Formulation(False, f.merge_low, f.upsample)
    if f.merge_low and not applies(conv, Formulation(merge_low=True)):
        f = Formulation(f.merge_high, False, f.upsample)
    if f.upsample == "dense" and not applies(conv, f):
        f = Formulation(f.merge_high, f.merge_low, "deconv")
    return f


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
    if how == "deconv" or paddle.in_dynamic_mode():
        return y_h + upsample_to(l2h, y_h)
    _, c, h, w = l2h.shape
    big_h, big_w = y_h.shape[2], y_h.shape[3]
    if min(c, h, w) <= 0 or (big_h, big_w) != (2 * h, 2 * w):  # dynamic or odd sizes: crop needed
        return y_h + upsample_to(l2h, y_h)
    out = y_h.reshape([-1, c, h, 2, w, 2]) + l2h.reshape([-1, c, h, 1, w, 1])
    return out.reshape([-1, c, big_h, big_w])


class ExportOctaveConv(nn.Layer):
    """An OctaveConv's inference form computed as ``formulation``; same input and output as the layer.

    Keeps the layer's convolutions (merged ones become ``conv_high`` ``[h2h; h2l]`` and
    ``conv_low`` ``[l2h; l2l]``). Input ``x`` or ``(x_h, x_l)``; output ``(y_h, y_l)``.
    """

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

    def _high(self, x_h):
        """``(y_h, y_l)`` of the high-frequency input alone."""
        if self.stride == 2:
            x_h = downsample(x_h)
        if self.formulation.merge_high:
            y_h, y_l = paddle.split(self.conv_high(x_h), list(self.channels_out), axis=1)
            return y_h, downsample(y_l)
        return (self.conv_h2h(x_h) if self.conv_h2h is not None else None,
                self.conv_h2l(downsample(x_h)) if self.conv_h2l is not None else None)

    def forward(self, x):
        x_h, x_l = x if isinstance(x, (tuple, list)) else (x, None)
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


class Conv_BN(nn.Layer):
    """OctaveConv followed by a norm layer per branch (``bn_h``, ``bn_l``).

    Same arguments as :class:`OctaveConv`, plus ``norm_layer`` (default ``nn.BatchNorm2D``).
    Output: ``(y_h, y_l)`` as OctaveConv's.
    """

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2D):
        super().__init__()
        self.conv = OctaveConv(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                               dilation, groups, bias)
        hi_out, lo_out = self.conv.channels_out
        self.bn_h = norm_layer(hi_out) if alpha_out < 1 else None
        self.bn_l = norm_layer(lo_out) if alpha_out > 0 else None

    def fuse_bn(self):
        """Fold ``bn_h`` / ``bn_l`` into the OctaveConv's branches (eval mode; :func:`paddle_conv.fuse`):
        ``bn_h`` into ``conv_h2h`` and ``conv_l2h`` (nearest up-sampling commutes with a per-channel
        affine map), ``bn_l`` into ``conv_l2l`` and ``conv_h2l``; the folded norms become Identity."""
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

    def _act(self, x):
        return x

    def forward(self, x):
        y_h, y_l = self.conv(x)
        y_h = self._act(self.bn_h(y_h)) if y_h is not None else None
        y_l = self._act(self.bn_l(y_l)) if y_l is not None else None
        return y_h, y_l


class Conv_BN_ACT(Conv_BN):
    """OctaveConv, norm layer and activation per branch.

    Same arguments as :class:`Conv_BN`, plus ``activation_layer`` (default ``nn.ReLU``).
    """

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2D,
                 activation_layer=nn.ReLU):
        super().__init__(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                         dilation, groups, bias, norm_layer)
        self.act = activation_layer()

    def _act(self, x):
        return self.act(x)
