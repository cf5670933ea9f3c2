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
"""

import math

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..fuse import bn_affine, scale_conv
from .fast_conv import fast_conv_class

__all__ = ["OctaveConv", "Conv_BN", "Conv_BN_ACT", "check_feature_map", "crop_to", "downsample", "upsample_to"]


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
