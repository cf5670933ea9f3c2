"""Dense convolution (``groups`` < ``C_in``, e.g. VGG's 3x3) whose bias costs little on CPU.

Paddle's ``F.conv2d`` runs the convolution and then adds the bias as a separate broadcast ``add``
of ``[1, C, 1, 1]`` onto ``[N, C, H, W]``, forward and backward. On CPU that 4-D broadcast takes a
slow path: in an SSD300-VGG16 training step (batch 2, 300x300) the bias ``add`` and its gradient
were 15% of the step, against 80% for the convolutions themselves. The same sum written over
``[N, C, H*W] + [C, 1]`` takes Paddle's fast inner broadcast: 3.6x (300x300, 64 channels) to 6.5x
(38x38, 512 channels) faster forward + backward, bit for bit the same output and gradients
(docs/benchmarks.md, issue 25). :func:`dense_conv2d` and :class:`DenseConv2D` add the bias that
way, and in dygraph float32 CPU training run the convolution itself through oneDNN
(:mod:`paddle_conv.layers.onednn_conv`) where :func:`native_padding` says it is faster than
Paddle's im2col + GEMM kernel (``groups=1``, kernels larger than 1x1, at least
:data:`MIN_NATIVE_CHANNELS` input channels: 0.3-0.8x its CPU time at SSD300's and ResNet's 3x3
shapes).

Paddle's own path is kept where its bias add is fine or the graph must show a plain convolution:
GPU and other devices, depthwise convolutions (Paddle fuses their bias, see
:mod:`paddle_conv.layers.depthwise`), NHWC, and static graphs in eval mode or in the legacy
program IR (``paddle.jit.save``, :mod:`paddle_conv.deploy.export`, ONNX), which see ``conv2d``
and its bias ``add`` as before.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .depthwise import _explicit_padding, _on_cpu, _pair
from .onednn_conv import native_conv2d_op, onednn_conv2d

__all__ = ["MIN_NATIVE_CHANNELS", "DenseConv2D", "dense_conv2d", "native_padding", "takes_channel_bias_form"]


@paddle.jit.not_to_static  # plain Python on shapes and places
def takes_channel_bias_form(x, weight, bias, groups=1, data_format="NCHW", training=True):
    """Whether :func:`dense_conv2d` adds ``bias`` ``[C_out]`` over ``[N, C_out, H*W]`` for ``x``
    ``[N, C_in, H, W]`` and ``weight`` ``[C_out, C_in / groups, kh, kw]`` (module docstring)."""
    channels = x.shape[1]
    depthwise = groups == channels and channels != 1 and weight.shape[0] % channels == 0
    return (bias is not None and not depthwise and data_format == "NCHW" and len(x.shape) == 4
            and (paddle.in_dynamic_mode() or (training and paddle.framework.in_pir_mode())) and _on_cpu(x))


def _add_channel_bias(y, bias):
    """``y [N, C, H, W] + bias [C]`` computed over ``[N, C, H*W]``."""
    shape = y.shape if paddle.in_dynamic_mode() else paddle.shape(y)
    flat = y.reshape([0, y.shape[1], -1]) + bias.reshape([-1, 1])
    return flat.reshape(shape)


#: Fewest input channels for oneDNN's convolution: VGG's first layer (3 channels) ran 1.9x slower
#: there than in Paddle's kernel, 8 to 512 channels 0.33 to 0.97x (docs/benchmarks.md, issue 25).
MIN_NATIVE_CHANNELS = 8


def native_padding(x, weight, padding, groups=1, data_format="NCHW", training=True):
    """The ``[top, left, bottom, right]`` padding with which :func:`dense_conv2d` runs oneDNN's
    convolution (:mod:`paddle_conv.layers.onednn_conv`) for ``x`` ``[N, C_in, H, W]``, or ``None``
    where it keeps Paddle's kernel: anything but dygraph CPU training of float32 NCHW with
    ``groups=1``, 1x1 kernels and inputs of fewer than :data:`MIN_NATIVE_CHANNELS` channels (where
    Paddle's kernel is faster), or no operator (not built, ``PADDLE_CONV_NATIVE_OPS=0``)."""
    if not (training and paddle.in_dynamic_mode() and groups == 1 and data_format == "NCHW"
            and x.shape[1] >= MIN_NATIVE_CHANNELS and weight.shape[2] * weight.shape[3] > 1
            and len(x.shape) == 4 and x.dtype == paddle.float32 and weight.dtype == paddle.float32
            and x.place.is_cpu_place()):
        return None
    pads = _explicit_padding(padding)  # (top, bottom, left, right)
    if pads is None or native_conv2d_op() is None:
        return None
    return [pads[0], pads[2], pads[1], pads[3]]


def dense_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, data_format="NCHW",
                 training=True):
    """``F.conv2d(x, weight, bias, stride, padding, dilation, groups, data_format)`` for ``x``
    ``[N, C_in, H, W]`` (NCHW): oneDNN's convolution where :func:`native_padding` allows, and the
    bias added over ``[N, C_out, H*W]`` where that is faster (module docstring). ``training=False``
    in a static graph keeps Paddle's ``conv2d`` + ``add``. Output ``[N, C_out, Ho, Wo]``."""
    pads = native_padding(x, weight, padding, groups, data_format, training)
    if pads is not None:
        y = onednn_conv2d(x, weight, _pair(stride), pads, _pair(dilation))
    elif takes_channel_bias_form(x, weight, bias, groups, data_format, training):
        y = F.conv2d(x, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
    else:
        return F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups,
                        data_format=data_format)
    return y if bias is None else _add_channel_bias(y, bias)


class DenseConv2D(nn.Conv2D):
    """``nn.Conv2D`` (same arguments, parameters and state-dict keys) whose zero-padded forward
    goes through :func:`dense_conv2d`; every other case is ``nn.Conv2D``'s.

    Input ``[N, C_in, H, W]``, output ``[N, C_out, Ho, Wo]``.
    """

    def forward(self, x):
        if self._padding_mode != "zeros":
            return super().forward(x)
        return dense_conv2d(x, self.weight, self.bias, self._stride, self._padding, self._dilation,
                            self._groups, self._data_format, self.training)
