import numpy as np
import paddle
from paddle.nn import functional as F

from paddle_conv.layers import DropPath, TransformerEncoderLayer


def test_forward_follows_upstream_order():
    paddle.seed(2)
    layer = TransformerEncoderLayer(16, num_heads=4, dim_feedforward=32, dropout=0.3,
                                    attention_dropout=0.3, drop_path_rate=0.3)
    layer.eval()
    x = paddle.randn([2, 6, 16])
    # attention on the pre-normed input, residual, then norm1 on the residual stream itself
    h = layer.norm1(x + layer.self_attn(layer.pre_norm(x)))
    expected = h + layer.linear2(F.gelu(layer.linear1(h)))
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_stochastic_depth_and_dropout_only_in_training():
    layer = TransformerEncoderLayer(16, num_heads=2, dim_feedforward=16, drop_path_rate=0.5)
    assert isinstance(layer.drop_path, DropPath)
    assert not isinstance(TransformerEncoderLayer(16, 2, drop_path_rate=0.0).drop_path, DropPath)
    x = paddle.randn([8, 4, 16])
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    layer.train()
    paddle.seed(3)
    assert not np.allclose(layer(x).numpy(), layer(x).numpy())


def test_state_dict_names_are_upstreams():
    names = set(TransformerEncoderLayer(16, 2, 32).state_dict())
    assert names == {
        "pre_norm.weight", "pre_norm.bias", "self_attn.qkv.weight", "self_attn.proj.weight",
        "self_attn.proj.bias", "linear1.weight", "linear1.bias", "norm1.weight", "norm1.bias",
        "linear2.weight", "linear2.bias"}
