"""OctConv's 2x2 average pooling and nearest up-sample-and-add as C++ operators (``native/octave_resample.cc``,
built on first use by :mod:`~paddle_conv.layers.native_ops`) for dygraph CPU float32 tensors, any ``H, W``.

Paddle's CPU ``pool2d`` and the expand of the up-sampling, forward and backward, took a third of Oct-ResNet-26's
training step; these take a fifth of that time, on up to :func:`~paddle_conv.layers.onednn_conv.onednn_threads`
threads (docs/benchmarks.md). The pooling equals ``F.avg_pool2d(x, 2, 2, ceil_mode=True, exclusive=True)`` to
the bit; the up-sampled sum's gradient sums each window in another order (float32 rounding). Static graphs and
exports keep Paddle's ops; where the library cannot be built or fails its self-check, a note says so.
"""

import functools

import paddle
import paddle.nn.functional as F
from paddle import _C_ops

from .native_ops import built_and_checked, native_ops_enabled, output_and_gradients
from .onednn_conv import operator_threads

__all__ = ["avg_pool2x2", "resample_ops_built", "takes_native_resample", "upsample_add"]

@functools.cache
def resample_ops_built():
    """Whether the operators are registered and agree with Paddle's (built at most once per process)."""
    return built_and_checked("octave_resample", "Paddle's pooling and up-sampling", _agrees_with_paddle)


def takes_native_resample(x):
    """Whether :func:`avg_pool2x2` and :func:`upsample_add` may take ``x``: dygraph, CPU, float32, operators built."""
    return (paddle.in_dynamic_mode() and x.dtype == paddle.float32 and x.place.is_cpu_place()
            and native_ops_enabled() and resample_ops_built())


def avg_pool2x2(x):
    """``[N, C, H, W] -> [N, C, ceil(H/2), ceil(W/2)]``: the mean of each 2x2 window's pixels (with its gradient)."""
    return _C_ops._run_custom_op("octave_avg_pool2x2", x, operator_threads())[0]


def upsample_add(big, small):
    """``big`` ``[N, C, H, W]`` + ``small`` ``[N, C, ceil(H/2), ceil(W/2)]`` up-sampled 2x (nearest, cropped)."""
    return _C_ops._run_custom_op("octave_upsample_add", big, small, operator_threads())[0]


def _agrees_with_paddle():
    """Whether both operators' outputs and gradients equal Paddle's on an odd-sized case (a broken build fails
    here, not in training)."""
    generator = paddle.framework.random.get_rng_state()
    big, small = paddle.randn([2, 3, 5, 6]), paddle.randn([2, 3, 3, 3])
    paddle.framework.random.set_rng_state(generator)

    def both(pool, up_add):  # the pooling and the up-sampled sum of (big, small), flattened into one output
        return lambda a, b: paddle.concat([(pool(a) * 3.0 + b).flatten(), up_add(a, b).flatten()])

    def paddles_pool(x):
        return F.avg_pool2d(x, 2, 2, ceil_mode=True, exclusive=True)

    def paddles_up_add(b, s):
        return b + F.interpolate(s, scale_factor=2, mode="nearest")[:, :, :5, :6]

    ours = output_and_gradients(both(avg_pool2x2, upsample_add), big, small)
    paddles = output_and_gradients(both(paddles_pool, paddles_up_add), big, small)
    return all(abs(mine - ref).max() <= 1e-5 * (1 + abs(ref).max()) for mine, ref in zip(ours, paddles))
