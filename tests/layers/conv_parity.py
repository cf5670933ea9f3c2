"""A convolution against ``F.conv2d``: output and the input, weight and bias gradients."""

import numpy as np
import paddle
import paddle.nn.functional as F


def conv_gradients(fn, x, weight, bias, upstream=None, **kwargs):
    """Output and the gradients of ``x``, ``weight``, ``bias`` under ``sum(y * upstream)``."""
    leaves = [t.detach() for t in (x, weight, bias)]
    for t in leaves:
        t.stop_gradient = False
    y = fn(*leaves, **kwargs)
    upstream = paddle.randn(y.shape, dtype=y.dtype) if upstream is None else upstream
    (y * upstream).sum().backward()
    return [y.numpy()] + [t.grad.numpy() for t in leaves], upstream


def assert_matches_conv2d(fn, x, weight, bias, tolerance, **kwargs):
    """``fn(x, weight, bias, **kwargs)`` equals ``F.conv2d`` with the same arguments, forward and
    gradients, within ``tolerance`` (relative and absolute)."""
    ours, upstream = conv_gradients(fn, x, weight, bias, **kwargs)
    want, _ = conv_gradients(F.conv2d, x, weight, bias, upstream, **kwargs)
    for name, got, ref in zip(["y", "x.grad", "weight.grad", "bias.grad"], ours, want):
        np.testing.assert_allclose(got, ref, rtol=tolerance, atol=tolerance, err_msg=name)
