"""Depthwise convolution (``groups == C_in == C_out``) that trains fast on CPU (docs/benchmarks.md): in dygraph, on
maps of at least ``MIN_ONEDNN_PIXELS``, oneDNN's depthwise convolution (:mod:`.onednn_conv`, where it is built); on
smaller maps, and in static training graphs on maps of at most ``MAX_MATMUL_PIXELS``, one batched matmul by 0/1 tap
matrices; Paddle's kernel elsewhere (other devices, dtypes, NHWC, padding modes, strings, static graphs in eval or
the legacy IR: exports see ``conv2d``).
"""

import functools

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .native_ops import native_ops_enabled
from .onednn_conv import native_conv2d_op

__all__ = ["MAX_MATMUL_PIXELS", "MIN_ONEDNN_PIXELS", "DepthwiseConv2D", "cpu_float32_training", "depthwise_conv2d",
           "is_depthwise", "takes_matmul_form", "takes_onednn_form", "use_fast_depthwise"]

#: Largest input map (``H * W``) that takes the matrix form (measured crossover, docs/benchmarks.md).
MAX_MATMUL_PIXELS = 64
#: Smallest input map (``H * W``) that takes oneDNN's convolution (measured crossover, docs/benchmarks.md).
MIN_ONEDNN_PIXELS = 16


@functools.cache
def _tap_matrix(height, width, kernel, stride, padding, dilation):
    """0/1 matrix ``[kh*kw, Ho*Wo*H*W]`` (float32) placing tap ``t`` of the filter where output
    pixel ``o`` reads input pixel ``i``, and ``(Ho, Wo)``. ``padding`` is (top, bottom, left, right)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    top, bottom, left, right = padding
    out_h = (height + top + bottom - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + left + right - dw * (kw - 1) - 1) // sw + 1
    taps = np.zeros([kh * kw, out_h * out_w, height * width], np.float32)
    for i in range(kh):
        rows = np.arange(out_h) * sh - top + i * dh
        for j in range(kw):
            cols = np.arange(out_w) * sw - left + j * dw
            oh, ow = np.nonzero((rows[:, None] >= 0) & (rows[:, None] < height) & (cols >= 0) & (cols < width))
            taps[i * kw + j, oh * out_w + ow, rows[oh] * width + cols[ow]] = 1.0
    return taps.reshape(kh * kw, -1), out_h, out_w


def _pair(value):
    return [value, value] if isinstance(value, int) else list(value)


def _explicit_padding(padding):
    """``(top, bottom, left, right)`` of an int, ``[ph, pw]`` or ``[t, b, l, r]`` padding; None for
    anything else (strings, per-dimension pairs), which Paddle's kernel handles."""
    if isinstance(padding, int):
        return (padding,) * 4
    if isinstance(padding, (list, tuple)) and all(isinstance(p, int) for p in padding):
        if len(padding) == 2:
            return padding[0], padding[0], padding[1], padding[1]
        if len(padding) == 4:
            return tuple(padding)
    return None


def _on_cpu(x):
    if paddle.in_dynamic_mode():
        return x.place.is_cpu_place()
    return paddle.get_device() == "cpu"


@paddle.jit.not_to_static
def cpu_float32_training(x, weight, training=True):
    """Whether a convolution of ``x`` with ``weight`` may leave Paddle's kernel for matrix products:
    both float32, on the CPU, in dynamic mode or in a PIR graph built for training."""
    return (x.dtype == paddle.float32 and weight.dtype == paddle.float32
            and (paddle.in_dynamic_mode() or (training and paddle.framework.in_pir_mode())) and _on_cpu(x))


@paddle.jit.not_to_static  # plain Python on shapes: dynamic dims (-1) must not become tensors
def takes_onednn_form(x, weight, groups):
    """Whether :func:`depthwise_conv2d` runs ``x`` ``[N, C, H, W]`` with ``weight`` ``[C, 1, kh, kw]``
    through oneDNN's convolution (the rule of the module docstring)."""
    channels, height, width = x.shape[1:]
    return (paddle.in_dynamic_mode() and groups == channels == weight.shape[0] and weight.shape[1] == 1
            and height * width >= MIN_ONEDNN_PIXELS and cpu_float32_training(x, weight)
            and native_ops_enabled() and native_conv2d_op() is not None)


@paddle.jit.not_to_static
def takes_matmul_form(x, weight, groups, training=True):
    """Whether :func:`depthwise_conv2d` computes ``x`` ``[N, C, H, W]`` with ``weight``
    ``[C, 1, kh, kw]`` as a matrix product (the rule of the module docstring)."""
    channels, height, width = x.shape[1:]
    return (groups == channels == weight.shape[0] and weight.shape[1] == 1
            and 0 < height * width <= MAX_MATMUL_PIXELS and width > 0 and cpu_float32_training(x, weight, training)
            and not takes_onednn_form(x, weight, groups))


def _fast_form(x, weight, bias, stride, padding, dilation, groups, training):
    """The convolution by the module docstring's rule (``padding`` (top, bottom, left, right)), or
    ``None`` where Paddle's kernel is the one."""
    if takes_onednn_form(x, weight, groups):
        top, bottom, left, right = padding
        y = native_conv2d_op()(x, weight, list(stride), [top, left, bottom, right], list(dilation))
        return y if bias is None else y + bias.reshape([1, -1, 1, 1])
    if takes_matmul_form(x, weight, groups, training):
        return _matmul_form(x, weight, bias, stride, padding, dilation)
    return None


@paddle.jit.not_to_static
def _matmul_form(x, weight, bias, stride, padding, dilation):
    channels, height, width = x.shape[1:]
    kernel = tuple(weight.shape[2:])
    taps, out_h, out_w = _tap_matrix(height, width, kernel, tuple(stride), padding, tuple(dilation))
    per_channel = paddle.matmul(weight.reshape([channels, -1]), paddle.to_tensor(taps))
    per_channel = per_channel.reshape([channels, out_h * out_w, height * width])
    by_channel = x.reshape([-1, channels, height * width]).transpose([1, 0, 2])
    y = paddle.matmul(by_channel, per_channel, transpose_y=True)
    y = y.transpose([1, 0, 2]).reshape([-1, channels, out_h, out_w])
    return y if bias is None else y + bias.reshape([1, channels, 1, 1])


def depthwise_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=None, training=True):
    """``F.conv2d`` of NCHW ``x`` ``[N, C, H, W]`` (``groups`` default C) -> ``[N, C_out, Ho, Wo]``, through
    oneDNN or as a matrix product where faster; ``training=False`` in a static graph keeps Paddle's conv2d."""
    groups = x.shape[1] if groups is None else groups
    pads = _explicit_padding(padding)
    y = None if pads is None else _fast_form(x, weight, bias, _pair(stride), pads, _pair(dilation), groups, training)
    if y is None:
        return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return y


class DepthwiseConv2D(nn.Conv2D):
    """``nn.Conv2D`` (same parameters) whose NCHW zero-padded forward is :func:`depthwise_conv2d`'s fast form."""

    def forward(self, x):
        pads = _explicit_padding(self._updated_padding) if self._padding_algorithm == "EXPLICIT" else None
        y = None
        if pads is not None and self._data_format == "NCHW" and self._padding_mode == "zeros":
            y = _fast_form(x, self.weight, self.bias, self._stride, pads, self._dilation, self._groups, self.training)
        return super().forward(x) if y is None else y


def is_depthwise(in_channels, out_channels, groups):
    """Whether a convolution with these channels and groups is depthwise (``groups == C_in == C_out > 1``)."""
    return groups == in_channels == out_channels and groups > 1


def use_fast_depthwise(model):
    """Make every depthwise ``nn.Conv2D`` sublayer of ``model`` a :class:`DepthwiseConv2D` in place; return it."""
    for layer in model.sublayers(include_self=True):
        if type(layer) is nn.Conv2D and is_depthwise(layer._in_channels, layer._out_channels, layer._groups):
            layer.__class__ = DepthwiseConv2D
    return model
