import numpy as np
import paddle

from paddle_conv.layers import SeqPool


def test_pools_with_softmax_weights_over_tokens():
    pool = SeqPool(4)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype("float32")
    scores = x @ pool.weight.numpy() + pool.bias.numpy()  # [2, 5, 1]
    weights = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    expected = (weights * x).sum(1)
    out = pool(paddle.to_tensor(x))
    assert out.shape == [2, 4]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_zero_scores_give_the_mean_token():
    pool = SeqPool(3)
    paddle.assign(paddle.zeros([3, 1]), pool.weight)
    x = paddle.randn([2, 7, 3])
    np.testing.assert_allclose(pool(x).numpy(), x.numpy().mean(1), rtol=1e-5, atol=1e-6)
    assert [name for name, _ in pool.named_parameters()] == ["weight", "bias"]
