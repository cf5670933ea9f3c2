"""Dense convolution (``groups`` < ``C_in``, e.g. VGG's 3x3) whose bias costs little on CPU (docs/benchmarks.md):
the bias added over ``[N, C, H*W] + [C, 1]`` (bit-identical), the conv through oneDNN where :func:`native_padding`
allows; Paddle's own path elsewhere (exports see ``conv2d`` and its bias ``add``).
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .depthwise import _explicit_padding, _on_cpu, _pair, cpu_float32_training
from .native_ops import native_ops_enabled
from .onednn_conv import native_conv2d_op, onednn_conv2d

__all__ = ["MIN_NATIVE_CHANNELS", "DenseConv2D", "dense_conv2d", "native_padding", "takes_channel_bias_form"]


@paddle.jit.not_to_static  # plain Python on shapes and places
def takes_channel_bias_form(x, weight, bias, groups=1, data_format="NCHW", training=True):
    """Whether :func:`dense_conv2d` adds ``bias`` ``[C_out]`` over ``[N, C_out, H*W]`` for ``x`` ``[N, C_in, H, W]``."""
    channels = x.shape[1]
    depthwise = groups == channels and channels != 1 and weight.shape[0] % channels == 0
    return (bias is not None and not depthwise and data_format == "NCHW" and len(x.shape) == 4
            and (paddle.in_dynamic_mode() or (training and paddle.framework.in_pir_mode())) and _on_cpu(x))


#: Fewest input channels for oneDNN's convolution (fewer ran slower there, docs/benchmarks.md).
MIN_NATIVE_CHANNELS = 8


def native_padding(x, weight, padding, groups=1, data_format="NCHW", training=True):
    """The ``[top, left, bottom, right]`` padding for oneDNN's convolution of ``x`` ``[N, C_in, H, W]``, or
    None (Paddle's kernel): only dygraph CPU float32 NCHW training, ``groups=1``, kernels over 1x1, at least
    :data:`MIN_NATIVE_CHANNELS` channels, with the operator built (``PADDLE_CONV_NATIVE_OPS`` not 0)."""
    if not (training and paddle.in_dynamic_mode() and groups == 1 and data_format == "NCHW" and len(x.shape) == 4
            and x.shape[1] >= MIN_NATIVE_CHANNELS and weight.shape[2] * weight.shape[3] > 1
            and cpu_float32_training(x, weight)):
        return None
    pads = _explicit_padding(padding)  # (top, bottom, left, right)
    if pads is None or not native_ops_enabled() or native_conv2d_op() is None:
        return None
    return [pads[0], pads[2], pads[1], pads[3]]


def dense_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, data_format="NCHW",
                 training=True):
    """``F.conv2d`` of ``x`` ``[N, C_in, H, W]`` -> ``[N, C_out, Ho, Wo]`` by the module docstring's rules."""
    pads = native_padding(x, weight, padding, groups, data_format, training)
    if pads is not None:
        y = onednn_conv2d(x, weight, _pair(stride), pads, _pair(dilation))
    elif takes_channel_bias_form(x, weight, bias, groups, data_format, training):
        y = F.conv2d(x, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
    else:
        return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                        data_format=data_format)
    if bias is None:
        return y
    shape = y.shape if paddle.in_dynamic_mode() else paddle.shape(y)  # y [N, C, H, W] + bias [C] over [N, C, H*W]
    return (y.reshape([0, y.shape[1], -1]) + bias.reshape([-1, 1])).reshape(shape)


class DenseConv2D(nn.Conv2D):
    """``nn.Conv2D`` (same parameters) whose zero-padded forward is :func:`dense_conv2d`'s."""

    def forward(self, x):
        if self._padding_mode != "zeros":
            return super().forward(x)
        return dense_conv2d(x, self.weight, self.bias, self._stride, self._padding, self._dilation,
                            self._groups, self._data_format, self.training)
