import paddle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paddle_conv.layers import Tokenizer


@settings(max_examples=12, deadline=None)
@given(height=st.integers(8, 40), width=st.integers(8, 40), layers=st.integers(1, 2),
       kernel=st.sampled_from([(3, 1, 1), (7, 2, 3)]))
def test_grid_size_predicts_the_token_count(height, width, layers, kernel):
    tokenizer = Tokenizer(*kernel, n_conv_layers=layers, in_channels=2, out_channels=8,
                          hidden_channels=4)
    tokens = tokenizer(paddle.randn([1, 2, height, width]))
    grid = tokenizer.grid_size(height, width)
    assert tokens.shape == [1, grid[0] * grid[1], 8]


def test_tokens_are_the_row_major_pixels_of_the_last_stage():
    tokenizer = Tokenizer(3, 1, 1, n_conv_layers=2, out_channels=6, hidden_channels=5)
    x = paddle.randn([2, 3, 16, 16])
    maps = tokenizer.conv_layers(x)  # [2, 6, 4, 4]
    tokens = tokenizer(x)
    assert maps.shape == [2, 6, 4, 4]
    assert bool(paddle.allclose(tokens[:, 1 * 4 + 2], maps[:, :, 1, 2]))


def test_layout_has_bias_free_convs_in_stages():
    tokenizer = Tokenizer(3, 1, 1, n_conv_layers=2, out_channels=128)
    shapes = {k: v.shape for k, v in tokenizer.state_dict().items()}
    assert shapes == {"conv_layers.0.0.weight": [64, 3, 3, 3],
                      "conv_layers.1.0.weight": [128, 64, 3, 3]}
    with pytest.raises(ValueError, match="n_conv_layers"):
        Tokenizer(3, 1, 1, n_conv_layers=0)
