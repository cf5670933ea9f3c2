"""Pointwise convolution (``1 x 1``, ``groups == 1``, stride 1, no padding) that trains fast on CPU.

Paddle's CPU ``conv2d`` runs an im2col and one GEMM per image, ``[C_out, C_in] @ [C_in, H*W]``:
on small maps these GEMMs are too thin to be fast (a ``[32, 512, 2, 2]`` input is 32 GEMMs of
four columns) and the backward pass repeats the loop twice. On small maps (``H * W <=
MAX_MATMUL_PIXELS``) this module computes the same convolution as ONE matrix product over the
batch: ``[N*H*W, C_in] @ [C_in, C_out]`` on the channels-last view of the input (a transpose
before and after; none for ``1 x 1`` maps). Autograd gives the input, weight and bias gradients;
the result equals ``F.conv2d`` up to the order of float32 additions.

Paddle's kernel stays where :mod:`paddle_conv.layers.depthwise` keeps it (GPU, dtypes other than
float32, NHWC, static graphs in eval mode or in the legacy program IR, so exports and Paddle
Inference see a plain ``conv2d``) and on larger maps, where it is as fast or faster.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .depthwise import cpu_float32_training

__all__ = ["MAX_MATMUL_PIXELS", "PointwiseConv2D", "is_pointwise", "pointwise_conv2d", "takes_matmul_form"]

#: Largest input map (``H * W``) that takes the matrix form; measured on a 2-core AVX-512 EPYC
#: with MKL's AVX-512 kernels (:mod:`paddle_conv.cpu_math`; docs/benchmarks.md): 1x1 and 2x2 maps
#: are 1.8-2.9x faster than Paddle's kernel forward + backward, 4x4 maps break even, larger lose.
MAX_MATMUL_PIXELS = 4


def is_pointwise(layer):
    """Whether the ``nn.Conv2D`` ``layer`` is a ``1 x 1``, ``groups == 1``, stride-1, unpadded NCHW
    convolution with zero padding mode (the layers :class:`PointwiseConv2D` speeds up)."""
    return (list(layer._kernel_size) == [1, 1] and layer._groups == 1 and list(layer._stride) == [1, 1]
            and not any(layer._updated_padding) and layer._data_format == "NCHW" and layer._padding_mode == "zeros")


@paddle.jit.not_to_static  # plain Python on shapes: dynamic dims (-1) must not become tensors
def takes_matmul_form(x, weight, training=True):
    """Whether :func:`pointwise_conv2d` computes ``x`` ``[N, C_in, H, W]`` with ``weight``
    ``[C_out, C_in, 1, 1]`` as one matrix product (the rule of the module docstring)."""
    height, width = x.shape[2:]
    return (list(weight.shape[2:]) == [1, 1] and x.shape[1] == weight.shape[1]
            and 0 < height * width <= MAX_MATMUL_PIXELS and width > 0 and cpu_float32_training(x, weight, training))


@paddle.jit.not_to_static
def _matmul_form(x, weight, bias):
    channels, height, width = x.shape[1:]
    out_channels = weight.shape[0]
    rows = x.reshape([-1, channels]) if height * width == 1 else x.transpose([0, 2, 3, 1]).reshape([-1, channels])
    y = paddle.matmul(rows, weight.reshape([out_channels, channels]), transpose_y=True)
    y = y if bias is None else y + bias
    if height * width == 1:
        return y.reshape([-1, out_channels, 1, 1])
    return y.reshape([-1, height, width, out_channels]).transpose([0, 3, 1, 2])


def pointwise_conv2d(x, weight, bias=None, training=True):
    """``F.conv2d(x, weight, bias)`` for NCHW ``x`` ``[N, C_in, H, W]`` and a ``[C_out, C_in, 1, 1]``
    ``weight``, computed as one matrix product where that is faster (module docstring).

    ``training=False`` in a static graph keeps Paddle's conv2d there. Output ``[N, C_out, H, W]``.
    """
    if takes_matmul_form(x, weight, training):
        return _matmul_form(x, weight, bias)
    return F.conv2d(x, weight, bias)


class PointwiseConv2D(nn.Conv2D):
    """``nn.Conv2D`` (same arguments, parameters and state-dict keys) whose forward goes through
    :func:`pointwise_conv2d` when the layer :func:`is_pointwise`; every other case is ``nn.Conv2D``'s.

    Input ``[N, C_in, H, W]``, output ``[N, C_out, H', W']``.
    """

    def forward(self, x):
        if is_pointwise(self) and takes_matmul_form(x, self.weight, self.training):
            return _matmul_form(x, self.weight, self.bias)
        return super().forward(x)
