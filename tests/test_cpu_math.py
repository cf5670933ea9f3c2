"""MKL_DEBUG_CPU_TYPE on AMD CPUs: set only where it helps, never over the user's value."""

import os
import subprocess
import sys

from paddle_conv.cpu_math import (
    MKL_AVX512_FLAGS,
    MKL_CPU_TYPE_VARIABLE,
    _cpu_vendor_and_flags,
    use_avx2_mkl_on_amd,
    use_vector_mkl_on_amd,
)


def _cpuinfo(tmp_path, vendor, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nvendor_id\t: {vendor}\nflags\t\t: {flags}\n\n"
                    f"processor\t: 1\nvendor_id\t: {vendor}\nflags\t\t: {flags}\n")
    return str(path)


def test_set_on_amd_with_avx2(tmp_path):
    environ = {}
    assert use_vector_mkl_on_amd(environ, _cpuinfo(tmp_path, "AuthenticAMD", "fpu sse2 avx avx2 avx512f"))
    assert environ == {MKL_CPU_TYPE_VARIABLE: "5"}  # one AVX-512 set is not the five MKL's type 7 needs


def test_avx512_kernels_on_amd_with_the_five_sets(tmp_path):
    environ = {}
    flags = "fpu avx avx2 fma " + " ".join(sorted(MKL_AVX512_FLAGS))
    assert use_vector_mkl_on_amd(environ, _cpuinfo(tmp_path, "AuthenticAMD", flags))
    assert environ == {MKL_CPU_TYPE_VARIABLE: "7"}
    assert use_avx2_mkl_on_amd is use_vector_mkl_on_amd  # the earlier public name


def test_left_alone_elsewhere(tmp_path):
    for vendor, flags in [("GenuineIntel", "avx avx2 avx512f"), ("AuthenticAMD", "sse2 avx")]:
        environ = {}
        assert not use_vector_mkl_on_amd(environ, _cpuinfo(tmp_path, vendor, flags))
        assert environ == {}
    environ = {}
    assert not use_vector_mkl_on_amd(environ, str(tmp_path / "missing"))
    assert environ == {}


def test_user_value_kept(tmp_path):
    environ = {MKL_CPU_TYPE_VARIABLE: ""}
    assert not use_vector_mkl_on_amd(environ, _cpuinfo(tmp_path, "AuthenticAMD", "avx2"))
    assert environ == {MKL_CPU_TYPE_VARIABLE: ""}


def test_import_sets_it_on_this_machine():
    env = {k: v for k, v in os.environ.items() if k != MKL_CPU_TYPE_VARIABLE}
    code = f"import os, paddle_conv; print(os.environ.get({MKL_CPU_TYPE_VARIABLE!r}))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()[-1]
    vendor, flags = _cpu_vendor_and_flags("/proc/cpuinfo")
    expected = ("None" if vendor != "AuthenticAMD" or "avx2" not in flags
                else "7" if MKL_AVX512_FLAGS <= flags else "5")
    assert out == expected
