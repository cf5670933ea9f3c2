"""MKL's vectorised kernels on AMD CPUs (set on ``import paddle_conv``).

Paddle's CPU wheels carry an MKL (``libmklml_intel.so``) that picks its kernels by the CPU's
vendor: on an AMD CPU it runs its generic SSE code, although the CPU has AVX2 (and AVX-512).
Every Paddle op that calls MKL's GEMM pays: ``matmul`` and ``Linear`` forward and backward and
dygraph's ``conv2d`` (im2col + GEMM) and its backward. This MKL still honours
``MKL_DEBUG_CPU_TYPE=5`` (use the AVX2 kernels whatever the vendor), which it reads on its
first call; on a 2-core AMD EPYC (AVX-512) it cut a ``[8192, 256] x [256, 768]`` matmul from
120 to 47 ms of CPU time (NumPy's OpenBLAS: 42 ms) and a 3x3 256-channel convolution forward +
backward at 75x75 from 1374 to 562 ms. The results differ only in float rounding (another
summation order), as between any two BLAS builds.

The variable is set only on an AMD CPU with AVX2 and only when the user has not set it
(set it yourself, to any value, to keep MKL's own choice). It takes effect if ``paddle_conv``
is imported before the process's first MKL call, which ``import paddle`` does not make.
"""

import os

__all__ = ["MKL_CPU_TYPE_VARIABLE", "use_avx2_mkl_on_amd"]

#: the variable this MKL reads to choose its kernels; ``5`` means AVX2
MKL_CPU_TYPE_VARIABLE = "MKL_DEBUG_CPU_TYPE"


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


def use_avx2_mkl_on_amd(environ=os.environ, cpuinfo="/proc/cpuinfo"):
    """Set ``MKL_DEBUG_CPU_TYPE=5`` in ``environ`` on an AMD CPU with AVX2 unless it is set.

    Returns True when it was set here, False otherwise (another vendor, no AVX2, no
    ``cpuinfo`` file, or the user's own value kept).
    """
    if MKL_CPU_TYPE_VARIABLE in environ:
        return False
    vendor, flags = _cpu_vendor_and_flags(cpuinfo)
    if vendor != "AuthenticAMD" or "avx2" not in flags:
        return False
    environ[MKL_CPU_TYPE_VARIABLE] = "5"
    return True
