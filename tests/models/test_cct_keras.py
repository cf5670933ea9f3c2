"""cct_keras_cifar is the seed's Keras model (seed 002): its size and layer geometry.
Its outputs against Keras 3 itself: tests/weights_bridge/test_keras_cct.py."""

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.models.cct_keras import ZeroPadSameMaxPool


def test_parameter_count_is_the_seeds_416_331():
    model = pc.create_model("cct_keras_cifar")
    assert sum(int(p.numel()) for p in model.parameters()) == 416_331
    assert sum(int(p.numel()) for p in pc.create_model("cct_keras_cifar", num_classes=100).parameters()) \
        == 416_331 + 90 * 129


def test_layers_have_the_keras_geometry():
    model = pc.create_model("cct_keras_cifar")
    state = model.state_dict()
    assert state["tokenizer.0.0.weight"].shape == [64, 3, 3, 3]
    assert state["tokenizer.1.0.weight"].shape == [128, 64, 3, 3]
    assert state["positional_emb"].shape == [1, 64, 128]
    attn = model.blocks[0].attn
    assert (attn.num_heads, attn.head_dim) == (2, 128)  # key_dim=128 per head, not 128 / 2
    assert state["blocks.0.attn.qkv.weight"].shape == [128, 3 * 256]
    assert state["blocks.0.attn.qkv.bias"].shape == [3 * 256]
    assert state["blocks.0.attn.proj.weight"].shape == [256, 128]
    assert [getattr(b.drop_path, "drop_prob", 0.0) for b in model.blocks] == [0.0, 0.1]
    assert model.tokenizer.grid_size(32, 32) == (8, 8) and model.tokenizer.grid_size(16, 16) == (4, 4)


def test_pooling_pads_bottom_right_like_tensorflow_same():
    pool = pc.create_model("cct_keras_cifar").tokenizer[0][2]
    x = paddle.to_tensor(np.arange(16, dtype="float32").reshape([1, 1, 4, 4]))
    # zero-padded to 6x6, then TF "same" windows at padded rows/cols 0, 2, 4 (the extra pad at the end):
    # original rows {-1, 0, 1}, {1, 2, 3}, {3, 4, 5}, of which 0-3 exist
    np.testing.assert_array_equal(pool(x).numpy()[0, 0], [[5, 7, 7], [13, 15, 15], [13, 15, 15]])


@pytest.mark.parametrize("size", [(30, 30), (31, 29), (14, 15), (5, 6), (1, 2)])
def test_one_pooling_op_equals_zero_padding_then_same_pooling_on_relu_outputs(size):
    keras_order = paddle.nn.Sequential(paddle.nn.Pad2D(1), paddle.nn.MaxPool2D(3, stride=2, padding="SAME"))
    x = paddle.nn.functional.relu(paddle.to_tensor(np.random.default_rng(0).standard_normal([2, 3, *size])
                                                   .astype("float32")))
    got, want = ZeroPadSameMaxPool()(x), keras_order(x)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_runs_on_other_image_sizes():
    model = pc.create_model("cct_keras_cifar")
    model.eval()
    assert model(paddle.rand([2, 3, 16, 16])).shape == [2, 10]
