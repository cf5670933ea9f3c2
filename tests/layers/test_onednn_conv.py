import ctypes
import os

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle.utils import cpp_extension

from paddle_conv import notes
from paddle_conv.layers import onednn_conv
from paddle_conv.layers.onednn_conv import native_conv2d_op, onednn_conv2d
from tests.layers.conv_parity import conv_gradients

needs_operator = pytest.mark.skipif(native_conv2d_op() is None, reason="no C++ compiler or oneDNN headers here "
                                    "(or PADDLE_CONV_NATIVE_OPS=0): the oneDNN operator is not built")

# (in, out, height, width, kernel, stride, [top, left, bottom, right] padding, dilation): VGG's 3x3,
# strides, SSD's dilated fc6, asymmetric padding, a 1x1 and a non-square kernel
CASES = [
    (4, 6, 7, 5, (3, 3), (1, 1), [1, 1, 1, 1], (1, 1)),
    (5, 8, 9, 8, (3, 3), (2, 2), [1, 1, 1, 1], (1, 1)),
    (3, 5, 11, 11, (3, 3), (1, 1), [3, 3, 3, 3], (3, 3)),
    (4, 6, 6, 7, (3, 2), (2, 1), [1, 0, 2, 1], (1, 2)),
    (6, 4, 3, 3, (1, 1), (1, 1), [0, 0, 0, 0], (1, 1)),
]


def assert_equals_conv2d(cin, cout, height, width, kernel, stride, padding, dilation, batch=2):
    x, weight = paddle.randn([batch, cin, height, width]), paddle.randn([cout, cin, *kernel])
    top, left, bottom, right = padding

    def conv(x, weight, bias):  # bias rides along so that conv_gradients can take its gradient
        return onednn_conv2d(x, weight, stride, padding, dilation) + bias.reshape([1, -1, 1, 1])

    def paddles(x, weight, bias):
        return F.conv2d(x, weight, bias, stride=stride, padding=[top, bottom, left, right], dilation=dilation)

    ours, upstream = conv_gradients(conv, x, weight, paddle.zeros([cout]))
    want, _ = conv_gradients(paddles, x, weight, paddle.zeros([cout]), upstream)
    for name, got, ref in zip(["y", "x.grad", "weight.grad"], ours, want):  # float32 sums in another order,
        atol = max(1e-4, 1e-5 * np.abs(ref).max())  # of up to 25,088 terms (the 112x112 weight gradient)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=atol, err_msg=name)


@needs_operator
@pytest.mark.parametrize("cin,cout,height,width,kernel,stride,padding,dilation", CASES)
def test_onednn_conv2d_equals_conv2d_forward_and_gradients(cin, cout, height, width, kernel, stride, padding,
                                                           dilation):
    assert_equals_conv2d(cin, cout, height, width, kernel, stride, padding, dilation)


def openmp_thread_counts():
    """``omp_get_max_threads()`` of every OpenMP runtime loaded (Paddle's libiomp5, a libgomp)."""
    with open("/proc/self/maps") as maps:
        paths = sorted({line.split()[-1] for line in maps if "libiomp5" in line or "libgomp" in line})
    return {path: ctypes.CDLL(path).omp_get_max_threads() for path in paths}


@needs_operator
def test_threaded_onednn_conv2d_equals_conv2d_and_restores_thread_counts(monkeypatch):
    """A 112x112 map (87M multiply-adds: two threads' worth), as a 224 input's first stage has;
    afterwards every OpenMP runtime has the thread count it had (Paddle's kernels keep theirs)."""
    monkeypatch.setattr(onednn_conv, "operator_threads", lambda: 2)
    paddle.base.core.set_num_threads(1)
    before = openmp_thread_counts()
    assert_equals_conv2d(16, 24, 112, 112, (3, 3), (1, 1), [1, 1, 1, 1], (1, 1))
    assert openmp_thread_counts() == before


def test_thread_count_from_the_environment(monkeypatch):
    monkeypatch.setenv(onednn_conv.THREADS_ENV, "3")
    assert onednn_conv.onednn_threads() == 3
    monkeypatch.setenv(onednn_conv.THREADS_ENV, "many")
    monkeypatch.delitem(notes.NOTES, onednn_conv.THREADS_ENV, raising=False)
    assert onednn_conv.onednn_threads() == len(os.sched_getaffinity(0))
    assert "not a positive thread count" in notes.NOTES[onednn_conv.THREADS_ENV]


@needs_operator
def test_onednn_conv2d_reads_a_strided_view():
    x, weight = paddle.randn([2, 5, 6, 4]).transpose([0, 3, 1, 2]), paddle.randn([3, 4, 3, 3])
    np.testing.assert_allclose(onednn_conv2d(x, weight, [1, 1], [1, 1, 1, 1], [1, 1]).numpy(),
                               F.conv2d(x, weight, padding=1).numpy(), rtol=1e-4, atol=1e-4)


@needs_operator
def test_operator_first_asked_for_under_no_grad_passes_its_check(fresh_operator):
    """An evaluation's forward (``paddle.no_grad``) may be the first to ask; the check takes gradients."""
    with paddle.no_grad():
        assert native_conv2d_op() is not None


def test_env_var_turns_the_operator_off(monkeypatch, fresh_operator):
    monkeypatch.setenv(onednn_conv.NATIVE_OPS_ENV, "0")
    assert native_conv2d_op() is None


def test_failed_build_falls_back_with_one_note(monkeypatch, fresh_operator):
    monkeypatch.setattr(onednn_conv, "onednn_include_dir", lambda: "/nowhere")
    monkeypatch.setattr(onednn_conv, "_build", lambda include: 1 / 0)
    monkeypatch.delitem(notes.NOTES, "onednn_conv2d.failed", raising=False)
    assert native_conv2d_op() is None
    assert "ZeroDivisionError" in notes.NOTES["onednn_conv2d.failed"]


def test_an_operator_that_disagrees_with_paddle_is_not_used(monkeypatch, fresh_operator):
    """A library built against mismatched headers that still loads is caught by the self-check."""
    def off_by_a_thousandth(x, weight, *args):
        return paddle.nn.functional.conv2d(x, weight, stride=args[0], padding=[[0, 0], [0, 0], args[1][::2],
                                                                              args[1][1::2]]) * 1.001

    monkeypatch.setattr(onednn_conv, "onednn_include_dir", lambda: "/nowhere")
    monkeypatch.setattr(onednn_conv, "_build", lambda include: off_by_a_thousandth)
    monkeypatch.delitem(notes.NOTES, "onednn_conv2d.failed", raising=False)
    assert native_conv2d_op() is None
    assert "differ from Paddle's" in notes.NOTES["onednn_conv2d.failed"]


def test_no_headers_means_no_build(monkeypatch, fresh_operator):
    monkeypatch.setattr(onednn_conv, "onednn_include_dir", lambda: None)
    monkeypatch.setattr(onednn_conv, "_build", lambda include: pytest.fail("built without headers"))
    assert native_conv2d_op() is None


@needs_operator
def test_a_built_operator_is_loaded_without_building_again(monkeypatch, fresh_operator):
    monkeypatch.setattr(cpp_extension, "load", lambda **kwargs: pytest.fail("built again"))
    x, weight = paddle.randn([1, 8, 5, 5]), paddle.randn([2, 8, 3, 3])
    np.testing.assert_allclose(native_conv2d_op()(x, weight, [1, 1], [0, 0, 0, 0], [1, 1]).numpy(),
                               F.conv2d(x, weight).numpy(), rtol=1e-4, atol=1e-4)
