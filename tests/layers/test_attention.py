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
