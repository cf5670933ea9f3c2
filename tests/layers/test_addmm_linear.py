import numpy as np
import paddle
from paddle import nn

from paddle_conv.layers import AddmmLinear


def _forward_and_grads(layer, x):
    x = paddle.to_tensor(x, stop_gradient=False)
    out = layer(x)
    (out * paddle.arange(out.size, dtype="float32").reshape(out.shape)).sum().backward()
    return [out.numpy(), x.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()]


def test_matches_paddle_linear_forward_and_gradients():
    paddle.seed(0)
    plain = nn.Linear(6, 5)
    ours = AddmmLinear(6, 5)
    ours.set_state_dict(plain.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 6)).astype("float32")  # [N, L, C]
    for a, b in zip(_forward_and_grads(ours, x), _forward_and_grads(plain, x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert list(ours.state_dict()) == ["weight", "bias"]


def test_static_graph_keeps_linear():
    layer = AddmmLinear(4, 3)
    static = paddle.jit.to_static(layer, full_graph=True)
    x = paddle.randn([2, 4])
    np.testing.assert_allclose(static(x).numpy(), (x.matmul(layer.weight) + layer.bias).numpy(), rtol=1e-5, atol=1e-6)
    assert "pd_op.addmm" not in str(static.forward.concrete_program.main_program)  # export sees matmul + add
