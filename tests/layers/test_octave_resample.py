import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddle.utils import cpp_extension

from paddle_conv import notes
from paddle_conv.layers import native_ops, octave_resample
from paddle_conv.layers.octave_resample import avg_pool2x2, resample_ops_built, upsample_add
from paddle_conv.layers.octconv import OctaveConv

needs_operator = pytest.mark.skipif(not resample_ops_built(), reason="no C++ compiler here (or "
                                    "PADDLE_CONV_NATIVE_OPS=0): the OctConv resampling operator is not built")

# [N, C, H, W]: even and odd sizes, a 1x1 map, and one large enough to be split over two threads
SHAPES = [(2, 3, 8, 8), (2, 3, 7, 9), (1, 2, 1, 1), (3, 2, 6, 5), (2, 8, 64, 66)]


def with_gradients(fn, *inputs, weight_seed=0):
    """``fn(*inputs)``, and the gradients of its weighted sum (weights drawn from ``weight_seed``)."""
    leaves = [t.detach() for t in inputs]
    for t in leaves:
        t.stop_gradient = False
    y = fn(*leaves)
    weights = paddle.to_tensor(np.random.default_rng(weight_seed).standard_normal(y.shape).astype("float32"))
    (y * weights).sum().backward()
    return [y.numpy()] + [t.grad.numpy() for t in leaves]


def paddle_upsample_add(big, small):
    return big + F.interpolate(small, scale_factor=2, mode="nearest")[:, :, :big.shape[2], :big.shape[3]]


@needs_operator
@pytest.mark.parametrize("shape", SHAPES)
def test_avg_pool2x2_is_paddles_ceil_mode_pooling_to_the_bit(monkeypatch, shape):
    monkeypatch.setattr(octave_resample, "operator_threads", lambda: 2)
    x = paddle.randn(shape)
    ours = with_gradients(avg_pool2x2, x)
    want = with_gradients(lambda t: F.avg_pool2d(t, 2, 2, ceil_mode=True, exclusive=True), x)
    for got, ref in zip(ours, want):
        np.testing.assert_array_equal(got, ref)


@needs_operator
@pytest.mark.parametrize("shape", SHAPES)
def test_upsample_add_equals_nearest_upsampling_plus(monkeypatch, shape):
    monkeypatch.setattr(octave_resample, "operator_threads", lambda: 2)
    big = paddle.randn(shape)
    small = paddle.randn([shape[0], shape[1], (shape[2] + 1) // 2, (shape[3] + 1) // 2])
    ours, want = with_gradients(upsample_add, big, small), with_gradients(paddle_upsample_add, big, small)
    np.testing.assert_array_equal(ours[0], want[0])
    np.testing.assert_array_equal(ours[1], want[1])
    np.testing.assert_allclose(ours[2], want[2], rtol=1e-6, atol=1e-6)  # window sums in another order


@needs_operator
def test_upsample_add_gradient_survives_accumulation():
    """The big input's gradient is the output's gradient itself: sums into it must not corrupt others."""
    def graph(up_add):
        def run(big, small, other):
            h = big * 1.5
            out = up_add(h, small)
            total = out + other + h
            return (total * total).sum() + (up_add(out, small) * 3).sum()
        return run

    inputs = paddle.randn([2, 3, 4, 4]), paddle.randn([2, 3, 2, 2]), paddle.randn([2, 3, 4, 4])
    ours, want = with_gradients(graph(upsample_add), *inputs), with_gradients(graph(paddle_upsample_add), *inputs)
    for got, ref in zip(ours, want):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@needs_operator
@pytest.mark.parametrize("size", [8, 7])
def test_octave_conv_takes_the_operators_in_dygraph_with_the_same_numbers(monkeypatch, size):
    conv = OctaveConv(8, 8, 3, alpha_in=0.5, alpha_out=0.5, padding=1)
    x_h, x_l = paddle.randn([2, 4, size, size]), paddle.randn([2, 4, (size + 1) // 2, (size + 1) // 2])
    calls = []
    for name in ("avg_pool2x2", "upsample_add"):
        op = getattr(octave_resample, name)
        monkeypatch.setattr(f"paddle_conv.layers.octconv.{name}", lambda *a, op=op: calls.append(op) or op(*a))
    native = with_gradients(lambda a, b: paddle.concat([t.flatten() for t in conv((a, b))]), x_h, x_l)
    assert {op.__name__ for op in calls} == {"avg_pool2x2", "upsample_add"}
    monkeypatch.setattr(octave_resample, "resample_ops_built", lambda: False)
    plain = with_gradients(lambda a, b: paddle.concat([t.flatten() for t in conv((a, b))]), x_h, x_l)
    for got, ref in zip(native, plain):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


@pytest.fixture
def fresh_operator(monkeypatch):
    """``resample_ops_built`` asked anew, and the process's answer back afterwards."""
    monkeypatch.delenv(native_ops.NATIVE_OPS_ENV, raising=False)
    monkeypatch.delitem(notes.NOTES, "octave_resample.failed", raising=False)
    resample_ops_built.cache_clear()
    yield
    resample_ops_built.cache_clear()


def test_env_var_turns_the_operator_off(monkeypatch, fresh_operator):
    monkeypatch.setenv(native_ops.NATIVE_OPS_ENV, "0")
    monkeypatch.setattr(native_ops, "build_library", lambda *a: pytest.fail("built while off"))
    assert not resample_ops_built()
    assert not octave_resample.takes_native_resample(paddle.randn([1, 1, 2, 2]))


def test_failed_build_falls_back_with_one_note(monkeypatch, fresh_operator):
    monkeypatch.setattr(native_ops, "build_library", lambda *a: 1 / 0)
    assert not resample_ops_built()
    assert "ZeroDivisionError" in notes.NOTES["octave_resample.failed"]


def test_an_operator_that_disagrees_with_paddle_is_not_used(monkeypatch, fresh_operator):
    monkeypatch.setattr(native_ops, "build_library", lambda *a: True)
    monkeypatch.setattr(octave_resample, "avg_pool2x2", lambda x: F.avg_pool2d(x, 2, 2, ceil_mode=True) * 1.001)
    monkeypatch.setattr(octave_resample, "upsample_add", paddle_upsample_add)
    assert not resample_ops_built()
    assert "differ from Paddle's" in notes.NOTES["octave_resample.failed"]


@needs_operator
def test_a_built_operator_is_loaded_without_building_again(monkeypatch, fresh_operator):
    monkeypatch.setattr(cpp_extension, "load", lambda **kwargs: pytest.fail("built again"))
    assert resample_ops_built()
