"""tiny_cnn: registered, width scales channels, stride 32."""

import paddle
import pytest

import paddle_conv as pc


def test_tiny_cnn_shapes_and_width():
    model = pc.create_model("tiny_cnn", num_classes=7, width=0.5)
    assert model(paddle.randn([2, 3, 64, 48])).shape == [2, 7]
    assert model.stages[-1][0][0].weight.shape[0] == 128
    small = sum(p.size for p in model.parameters())
    assert small < sum(p.size for p in pc.create_model("tiny_cnn", num_classes=7).parameters())


@pytest.mark.parametrize("width", [-1, 0, float("nan"), "half", True])
def test_width_out_of_range_is_a_config_error(width):
    with pytest.raises(pc.ConfigError, match="width=.* must be a number in \\(0, 16\\]"):
        pc.create_model("tiny_cnn", num_classes=7, width=width)
