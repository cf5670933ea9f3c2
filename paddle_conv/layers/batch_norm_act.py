"""Batch norm followed by ReLU (or nothing) in one C++ operator (``native/batch_norm_relu.cc``) for dygraph CPU
float32 training: the batch's statistics, the running ones updated as Paddle's ``batch_norm`` does, on up to
:func:`~paddle_conv.layers.onednn_conv.onednn_threads` threads (docs/benchmarks.md). Elsewhere (eval, static
graphs and exports, other norms, activations, dtypes or layouts) ``act(bn(x))`` as written.
"""

import functools

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import _C_ops

from .native_ops import built_and_checked, native_ops_enabled
from .onednn_conv import onednn_threads

__all__ = ["batch_norm_act", "batch_norm_relu_built", "takes_native_batch_norm"]

_threads = functools.cache(onednn_threads)  # read once per process


def _native(bn, x, relu, threads=None):
    return _C_ops._run_custom_op("batch_norm_relu", x, bn.weight, bn.bias, bn._mean, bn._variance,
                                 float(bn._momentum), float(bn._epsilon), relu, threads or _threads())[0]


def _agrees_with_paddle():
    """Whether the operator's output, gradients and running statistics equal Paddle's ``relu(batch_norm(x))`` on a
    small case split over two threads."""
    rng = np.random.default_rng(0)
    x = paddle.to_tensor(rng.standard_normal([4, 8, 96, 96]).astype("float32") * 2 + 1)
    scale, shift = rng.uniform(0.5, 1.5, 8).astype("float32"), rng.standard_normal(8).astype("float32")
    results = []
    for native in (True, False):
        bn = nn.BatchNorm2D(8)
        bn.weight.set_value(paddle.to_tensor(scale))
        bn.bias.set_value(paddle.to_tensor(shift))
        a = x.detach()
        a.stop_gradient = False
        y = _native(bn, a, True, 2) if native else F.relu(bn(a))
        (y * y).sum().backward()
        results.append([y.numpy(), a.grad.numpy(), bn.weight.grad.numpy(), bn.bias.grad.numpy(), bn._mean.numpy(),
                        bn._variance.numpy()])
    return all(abs(mine - ref).max() <= 1e-4 * (1 + abs(ref).max()) for mine, ref in zip(*results))


@functools.cache
def batch_norm_relu_built():
    """Whether ``native/batch_norm_relu.cc`` is built and agrees with Paddle's (built at most once per process)."""
    return built_and_checked("batch_norm_relu", "Paddle's batch norm", _agrees_with_paddle)


def takes_native_batch_norm(bn, x, act):
    """Whether :func:`batch_norm_act` computes ``act(bn(x))`` with the operator (module docstring)."""
    return (type(bn) is nn.BatchNorm2D and type(act) in (nn.ReLU, nn.Identity) and bn.training
            and not bn._use_global_stats and bn._data_format == "NCHW" and bn.weight is not None
            and bn.bias is not None and paddle.in_dynamic_mode() and x.dtype == paddle.float32
            and len(x.shape) == 4 and x.place.is_cpu_place() and native_ops_enabled() and batch_norm_relu_built())


def batch_norm_act(bn, x, act):
    """``act(bn(x))`` for ``x`` ``[N, C, H, W]``: one threaded operator where :func:`takes_native_batch_norm`."""
    if takes_native_batch_norm(bn, x, act):
        return _native(bn, x, type(act) is nn.ReLU)
    return act(bn(x))
