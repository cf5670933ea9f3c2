import math

import numpy as np
import paddle
import pytest

from paddle_conv.errors import ConfigError
from paddle_conv.layers import resize_grid_embedding, sinusoidal_embedding
from paddle_conv.layers.position_embedding import check_position_embedding


def test_sinusoid_formula():
    table = sinusoidal_embedding(5, 6).numpy()
    assert table.shape == (1, 5, 6)
    for p, i in [(0, 0), (0, 1), (3, 0), (3, 1), (4, 4), (2, 5)]:
        angle = p / 10000 ** (2 * (i // 2) / 6)
        expected = math.sin(angle) if i % 2 == 0 else math.cos(angle)
        assert table[0, p, i] == pytest.approx(expected, abs=1e-6)


def test_resize_keeps_constant_embeddings_and_same_grid():
    embedding = paddle.full([1, 12, 5], 0.7)
    resized = resize_grid_embedding(embedding, (3, 4), (6, 5))
    assert resized.shape == [1, 30, 5]
    np.testing.assert_allclose(resized.numpy(), 0.7, rtol=1e-5)
    assert resize_grid_embedding(embedding, (3, 4), (3, 4)) is embedding


def test_resize_is_over_the_grid_not_the_sequence():
    # one channel that varies along rows only must keep varying along rows only
    rows = paddle.arange(4, dtype="float32").reshape([4, 1]).expand([4, 4])
    resized = resize_grid_embedding(rows.reshape([1, 16, 1]), (4, 4), (8, 8)).reshape([8, 8])
    np.testing.assert_allclose(resized.numpy(), resized.numpy()[:, :1].repeat(8, 1), atol=1e-6)
    assert (np.diff(resized.numpy()[:, 0]) >= 0).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="tokens"):
        resize_grid_embedding(paddle.zeros([1, 10, 2]), (3, 4), (2, 2))
    with pytest.raises(ConfigError, match="learnable, sine, none"):
        check_position_embedding("fixed")
