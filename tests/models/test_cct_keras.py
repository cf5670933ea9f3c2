"""cct_keras_cifar is the seed's Keras model (seed 002): its size and layer geometry.
Its outputs against Keras 3 itself: tests/weights_bridge/test_keras_cct.py."""

import numpy as np
import paddle

import paddle_conv as pc


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
    pool = pc.create_model("cct_keras_cifar").tokenizer[0][3]
    x = paddle.to_tensor(np.arange(16, dtype="float32").reshape([1, 1, 4, 4]))
    # windows start at rows/cols 0 and 2 (TF "same", the extra pad at the end), not -1 and 1
    np.testing.assert_array_equal(pool(x).numpy()[0, 0], [[10, 11], [14, 15]])


def test_runs_on_other_image_sizes():
    model = pc.create_model("cct_keras_cifar")
    model.eval()
    assert model(paddle.rand([2, 3, 16, 16])).shape == [2, 10]
