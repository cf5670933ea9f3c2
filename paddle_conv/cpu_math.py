"""MKL's vectorised kernels on AMD CPUs (set on ``import paddle_conv``).

Paddle's CPU wheels carry an MKL (``libmklml_intel.so``, 2019) that picks its kernels by the
CPU's vendor: on an AMD CPU it runs its generic SSE code, although the CPU has AVX2 (and AVX-512).
Every Paddle op that calls MKL's GEMM pays: ``matmul`` and ``Linear`` forward and backward and
dygraph's ``conv2d`` (im2col + GEMM) and its backward. This MKL still honours
``MKL_DEBUG_CPU_TYPE`` (use the kernels of that type whatever the vendor), which it reads on its
first call: ``5`` is AVX2, ``7`` AVX-512 (Skylake server: F, CD, BW, DQ, VL). On a 2-core AMD
EPYC with AVX-512 (Zen 5) a ``[5776, 2304] x [2304, 256]`` matmul runs at 27 GFLOP/s per core on
the SSE code, 97 with ``5`` and 183 with ``7`` (torch's own MKL: 85); a 3x3 256-channel
convolution forward + backward at 75x75 took 1374 ms of CPU time, 562 with ``5``. The results
differ only in float rounding (another summation order), as between any two BLAS builds.

The variable is set only on an AMD CPU with AVX2 (``7`` where it has the five AVX-512 sets,
else ``5``) and only when the user has not set it (set it yourself, to any value, to keep MKL's
own choice). It takes effect if ``paddle_conv``
is imported before the process's first MKL call, which ``import paddle`` does not make.
"""

import os

__all__ = ["MKL_CPU_TYPE_VARIABLE", "use_avx2_mkl_on_amd", "use_vector_mkl_on_amd"]

#: the variable this MKL reads to choose its kernels; ``5`` means AVX2, ``7`` AVX-512
MKL_CPU_TYPE_VARIABLE = "MKL_DEBUG_CPU_TYPE"

#: the AVX-512 sets MKL's type ``7`` kernels (Skylake server) use
MKL_AVX512_FLAGS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})


def _cpu_vendor_and_flags(cpuinfo):
    vendor, flags = "", set()
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                if vendor and flags:
                    break
    except OSError:
        pass
    return vendor, flags


def use_vector_mkl_on_amd(environ=os.environ, cpuinfo="/proc/cpuinfo"):
    """Set ``MKL_DEBUG_CPU_TYPE`` in ``environ`` on an AMD CPU with AVX2 unless it is set: ``7``
    (AVX-512) where the CPU has :data:`MKL_AVX512_FLAGS`, else ``5`` (AVX2).

    Returns True when it was set here, False otherwise (another vendor, no AVX2, no
    ``cpuinfo`` file, or the user's own value kept).
    """
    if MKL_CPU_TYPE_VARIABLE in environ:
        return False
    vendor, flags = _cpu_vendor_and_flags(cpuinfo)
    if vendor != "AuthenticAMD" or "avx2" not in flags:
        return False
    environ[MKL_CPU_TYPE_VARIABLE] = "7" if MKL_AVX512_FLAGS <= flags else "5"
    return True


#: the earlier name of :func:`use_vector_mkl_on_amd` (it chose AVX2 only), kept for callers
use_avx2_mkl_on_amd = use_vector_mkl_on_amd
