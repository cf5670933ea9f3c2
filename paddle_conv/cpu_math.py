"""MKL's vectorised kernels on AMD CPUs, where Paddle's bundled MKL runs generic SSE code unless
``MKL_DEBUG_CPU_TYPE`` says otherwise (set on ``import paddle_conv``; why and measurements: docs/device.md)."""

import os

__all__ = ["MKL_CPU_TYPE_VARIABLE", "use_avx2_mkl_on_amd", "use_vector_mkl_on_amd"]

#: the variable this MKL reads to choose its kernels; ``5`` means AVX2, ``7`` AVX-512
MKL_CPU_TYPE_VARIABLE = "MKL_DEBUG_CPU_TYPE"

#: the AVX-512 sets MKL's type ``7`` kernels (Skylake server) use
MKL_AVX512_FLAGS = frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})


def _cpu_vendor_and_flags(cpuinfo):
    fields = {}  # the first processor's
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
                if "vendor_id" in fields and "flags" in fields:
                    break
    except OSError:
        pass
    return fields.get("vendor_id", ""), set(fields.get("flags", "").split())


def use_vector_mkl_on_amd(environ=os.environ, cpuinfo="/proc/cpuinfo"):
    """Set ``MKL_DEBUG_CPU_TYPE`` in ``environ`` on an AMD CPU with AVX2 unless it is set: ``7`` where the CPU
    has :data:`MKL_AVX512_FLAGS`, else ``5``. Returns whether it was set here."""
    if MKL_CPU_TYPE_VARIABLE in environ:
        return False
    vendor, flags = _cpu_vendor_and_flags(cpuinfo)
    if vendor != "AuthenticAMD" or "avx2" not in flags:
        return False
    environ[MKL_CPU_TYPE_VARIABLE] = "7" if MKL_AVX512_FLAGS <= flags else "5"
    return True


#: the earlier name of :func:`use_vector_mkl_on_amd` (it chose AVX2 only), kept for callers
use_avx2_mkl_on_amd = use_vector_mkl_on_amd
