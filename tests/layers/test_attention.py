import numpy as np
import paddle
import pytest

from paddle_conv.layers import MultiHeadSelfAttention


def _softmax(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_matches_a_numpy_multi_head_attention():
    paddle.seed(1)
    layer = MultiHeadSelfAttention(8, num_heads=2)
    layer.eval()
    x = np.random.default_rng(0).standard_normal((3, 5, 8)).astype("float32")
    out = layer(paddle.to_tensor(x)).numpy()

    q, k, v = np.split(x @ layer.qkv.weight.numpy(), 3, axis=-1)  # each [N, L, 8]
    heads = [slice(0, 4), slice(4, 8)]
    mixed = np.concatenate(
        [_softmax(q[..., h] @ k[..., h].transpose(0, 2, 1) / 2.0) @ v[..., h] for h in heads], -1)
    expected = mixed @ layer.proj.weight.numpy() + layer.proj.bias.numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_qkv_has_no_bias_and_heads_must_divide_dim():
    names = [name for name, _ in MultiHeadSelfAttention(8, num_heads=2).named_parameters()]
    assert names == ["qkv.weight", "proj.weight", "proj.bias"]
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadSelfAttention(10, num_heads=4)


def _standard_attention(layer, x):
    """The usual ``[N, heads, L, D]`` formulation with the layer's weights."""
    batch, length, _ = x.shape
    qkv = paddle.nn.functional.linear(x, layer.qkv.weight, layer.qkv.bias)
    q, k, v = qkv.reshape([batch, length, 3, layer.num_heads, layer.head_dim]).transpose([2, 0, 3, 1, 4]).unbind(0)
    weights = paddle.nn.functional.softmax(q.matmul(k, transpose_y=True) * layer.scale, axis=-1)
    out = weights.matmul(v).transpose([0, 2, 1, 3]).reshape([batch, length, -1])
    return paddle.nn.functional.linear(out, layer.proj.weight, layer.proj.bias)


@pytest.mark.parametrize("kwargs", [{}, {"head_dim": 3, "qkv_bias": True}])
def test_transposed_heads_match_the_standard_layout_with_gradients(kwargs):
    paddle.seed(2)
    layer = MultiHeadSelfAttention(8, num_heads=2, **kwargs)
    layer.eval()
    x = np.random.default_rng(1).standard_normal((3, 5, 8)).astype("float32")
    results = []
    for forward in (layer, lambda t: _standard_attention(layer, t)):
        t = paddle.to_tensor(x, stop_gradient=False)
        out = forward(t)
        (out * out).sum().backward()
        results.append([out.numpy(), t.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
        layer.clear_gradients()
    for ours, standard in zip(*results):
        np.testing.assert_allclose(ours, standard, rtol=1e-5, atol=1e-5)


def test_flops_count_the_qkv_and_output_projections():
    """The transposing projections are Linear layers to ``paddle.flops``: ``L * C * 3C + L * C * C`` per image."""
    from paddle_conv.summary import count_macs

    layer = MultiHeadSelfAttention(8, num_heads=2)
    assert count_macs(paddle.nn.Sequential(layer), [1, 5, 8]) == 5 * 8 * 24 + 5 * 8 * 8
