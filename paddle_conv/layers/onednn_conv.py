"""oneDNN's convolution for dense and depthwise float32 CPU training: a Paddle custom operator built on first use.

Paddle's dygraph CPU ``conv2d`` is im2col + GEMM (its im2col and col2im single-threaded);
torch's is oneDNN's direct convolution on blocked layouts, about 1.5x faster at SSD300-VGG16's
300x300 to 75x75 maps (docs/benchmarks.md, issue 25). ``native/onednn_conv2d.cc`` is a custom
operator (forward and gradient) that runs oneDNN's convolution forward, backward-data and
backward-weights primitives from the ``libdnnl.so.3`` Paddle's wheel ships, for a float32 NCHW
convolution, dense or grouped (``groups = C / weight.shape[1]``; :mod:`.depthwise` uses it for
``groups == C``); :func:`onednn_conv2d` calls it. The primitives run on
:func:`onednn_threads` OpenMP threads (fewer for small convolutions) while Paddle's own kernels keep
their thread count (``tools/train.py``: one).

The operator is built on first use into the cache (:mod:`~paddle_conv.layers.native_ops`). It needs a C++
compiler and oneDNN's ``oneapi/dnnl/dnnl.hpp`` headers (Paddle's wheel ships only forwarding
stubs of them): from ``$PADDLE_CONV_ONEDNN_INCLUDE``, else Paddle's include folder, else torch's.
Once loaded, it must reproduce ``F.conv2d``'s output and gradients on a small dense and a small
depthwise case (a library that does not match the headers it was built against fails there).
Without the headers, when the build, that check or the folder check fails (a second note says
why), or with ``PADDLE_CONV_NATIVE_OPS=0``, :func:`native_conv2d_op` is ``None`` and callers keep
Paddle's kernel.
"""

import functools
import importlib.util
import os
from pathlib import Path

import paddle
from paddle import _C_ops

from ..notes import note_once
from .native_ops import NATIVE_OPS_ENV, build_library, native_ops_enabled, output_and_gradients

__all__ = ["NATIVE_OPS_ENV", "THREADS_ENV", "native_conv2d_op", "onednn_conv2d", "onednn_include_dir",
           "onednn_threads"]

#: ``PADDLE_CONV_ONEDNN_THREADS=n``: the most threads the operator's primitives use.
THREADS_ENV = "PADDLE_CONV_ONEDNN_THREADS"

_HEADER = Path("oneapi", "dnnl", "dnnl.hpp")
_LIBS = Path(paddle.__file__).parent / "libs"  # Paddle's wheel: libdnnl.so.3


def onednn_include_dir():
    """The first folder holding ``oneapi/dnnl/dnnl.hpp`` (module docstring), or ``None``."""
    candidates = [os.environ.get("PADDLE_CONV_ONEDNN_INCLUDE"), Path(paddle.__file__).parent / "include"]
    torch_spec = importlib.util.find_spec("torch")
    if torch_spec is not None and torch_spec.origin:
        candidates.append(Path(torch_spec.origin).parent / "include")
    return next((Path(c) for c in candidates if c and (Path(c) / _HEADER).is_file()), None)


def onednn_threads():
    """The most OpenMP threads the operator uses: ``$PADDLE_CONV_ONEDNN_THREADS``, else the CPUs this
    process may run on (the operator takes one per 32M multiply-adds of a convolution, at least one)."""
    value = os.environ.get(THREADS_ENV, "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    if value:
        note_once(THREADS_ENV, f"{THREADS_ENV}={value!r} is not a positive thread count: ignored")
    return len(os.sched_getaffinity(0))


def _build(include):
    """Compile and register the operator (:func:`~paddle_conv.layers.native_ops.build_library`); ``None``
    where the cache folder is not private."""
    ldflags = [str(_LIBS / "libdnnl.so.3"), f"-Wl,-rpath,{_LIBS}"]
    return _run_operator if build_library("onednn_conv2d", "Paddle's convolution", [include], ldflags) else None


def _run_operator(x, weight, strides, paddings, dilations):
    return _C_ops._run_custom_op("onednn_conv2d", x, weight, strides, paddings, dilations, operator_threads())[0]


operator_threads = functools.cache(onednn_threads)  # read once per process, by every C++ operator


@functools.cache
def native_conv2d_op():
    """The compiled ``onednn_conv2d(x, w, strides, paddings, dilations)`` operator, or ``None``
    where it is off or cannot be built (module docstring); built at most once per process."""
    include = onednn_include_dir()
    if not native_ops_enabled() or include is None or not (_LIBS / "libdnnl.so.3").is_file():
        return None
    try:
        op = _build(include)
        if op is None or _agrees_with_paddle(op):
            return op
        problem = "its results differ from Paddle's convolution (headers of another oneDNN version?)"
    except Exception as exc:  # no compiler, a failed build or load: Paddle's kernel it is
        problem = f"it could not be built ({type(exc).__name__})"
    note_once("onednn_conv2d.failed", f"the oneDNN convolution operator is not used: {problem}; "
                                      "Paddle's convolution is used")
    return None


def _agrees_with_paddle(op):
    """Whether ``op``'s output and gradients equal ``F.conv2d``'s on a small strided, padded dense case
    and a depthwise one (a library that does not match the headers it was built against fails here,
    not in training)."""
    generator = paddle.framework.random.get_rng_state()
    cases = [(paddle.randn([2, 8, 7, 6]), paddle.randn([4, 8, 3, 3])),
             (paddle.randn([2, 8, 7, 6]), paddle.randn([8, 1, 3, 3]))]
    paddle.framework.random.set_rng_state(generator)
    padding = [[0, 0], [0, 0], [1, 1], [0, 2]]  # [top, left, bottom, right] = [1, 0, 1, 2]

    def paddles(x, weight):
        return paddle.nn.functional.conv2d(x, weight, stride=[2, 1], padding=padding,
                                           groups=x.shape[1] // weight.shape[1])

    def ours(x, weight):
        return op(x, weight, [2, 1], [1, 0, 1, 2], [1, 1])

    return all(mine.shape == ref.shape and abs(mine - ref).max() <= 1e-4 * (1 + abs(ref).max())
               for x, weight in cases
               for mine, ref in zip(output_and_gradients(ours, x, weight), output_and_gradients(paddles, x, weight)))


def onednn_conv2d(x, weight, stride, padding, dilation):
    """Convolution of ``x`` ``[N, C, H, W]`` (float32, CPU) with ``weight`` ``[O, C / groups, kh, kw]``
    through oneDNN; ``stride`` and ``dilation`` ``[h, w]``, ``padding`` ``[top, left, bottom,
    right]``. Output ``[N, O, Ho, Wo]``; the gradients of ``x`` and ``weight`` come with it."""
    return native_conv2d_op()(x, weight, list(stride), list(padding), list(dilation))
