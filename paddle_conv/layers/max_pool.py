"""Max pooling that trains fast on CPU: ``native/max_pool2d.cc`` (the first maximum's index kept for the gradient,
the planes split over up to :func:`~paddle_conv.layers.onednn_conv.onednn_threads` threads) in dygraph CPU float32;
Paddle's ``pool2d`` elsewhere (static graphs and exports, masks, NHWC, string paddings). Paddle's gradient scans
each window again for its maximum (docs/benchmarks.md).
"""

import functools

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import _C_ops

from .native_ops import built_and_checked, native_ops_enabled, output_and_gradients
from .onednn_conv import operator_threads

__all__ = ["FastMaxPool2D", "max_pool_built", "native_max_pool2d"]

def _pair(value):
    return [value, value] if isinstance(value, int) else list(value) if isinstance(value, (list, tuple)) else None


def native_max_pool2d(x, kernel, stride, padding, ceil_mode=False, threads=None):
    """``F.max_pool2d`` of ``x`` ``[N, C, H, W]`` (``kernel``, ``stride``, ``padding`` ``[h, w]``) through the
    operator: ``[N, C, Ho, Wo]``."""
    return _C_ops._run_custom_op("max_pool2d", x, list(kernel), list(stride), list(padding), ceil_mode,
                                 threads or operator_threads())[0]


def _agrees_with_paddle():
    """Whether the operator's output and gradient equal ``F.max_pool2d``'s on padded, strided and ceil-mode cases
    with ties, split over two threads."""
    x = paddle.to_tensor(np.random.default_rng(0).integers(0, 4, [4, 8, 33, 34]).astype("float32"))  # many ties
    cases = (([3, 3], [2, 2], [1, 1], False), ([2, 2], [2, 2], [0, 0], True))
    return all(mine.shape == ref.shape and abs(mine - ref).max() <= 1e-6
               for kernel, stride, padding, ceil in cases
               for mine, ref in zip(
                   output_and_gradients(functools.partial(native_max_pool2d, kernel=kernel, stride=stride,
                                                          padding=padding, ceil_mode=ceil, threads=2), x),
                   output_and_gradients(functools.partial(F.max_pool2d, kernel_size=kernel, stride=stride,
                                                          padding=padding, ceil_mode=ceil), x)))


@functools.cache
def max_pool_built():
    """Whether ``native/max_pool2d.cc`` is built and agrees with Paddle's (built at most once per process)."""
    return built_and_checked("max_pool2d", "Paddle's max pooling", _agrees_with_paddle)


class FastMaxPool2D(nn.MaxPool2D):
    """``nn.MaxPool2D`` (same arguments) whose NCHW forward in dygraph CPU float32 is the operator's."""

    def _native_geometry(self, x):
        """``(kernel, stride, padding)`` as ``[h, w]`` lists where the operator applies to ``x``, else ``None``."""
        kernel, padding = _pair(self.ksize), _pair(self.padding)
        stride = kernel if self.stride is None else _pair(self.stride)
        if (None in (kernel, stride, padding) or len(padding) != 2 or self.return_mask or self.data_format != "NCHW"
                or not paddle.in_dynamic_mode() or x.dtype != paddle.float32 or len(x.shape) != 4
                or not x.place.is_cpu_place() or not native_ops_enabled() or not max_pool_built()):
            return None
        return kernel, stride, padding

    def forward(self, x):
        geometry = self._native_geometry(x)
        return super().forward(x) if geometry is None else native_max_pool2d(x, *geometry, self.ceil_mode)
