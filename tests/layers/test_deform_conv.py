import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_conv.layers import DeformConv2D


@pytest.mark.parametrize("modulated", [False, True])
@pytest.mark.parametrize("deformable_groups", [1, 2])
def test_equals_plain_conv_at_initialisation(modulated, deformable_groups):
    layer = DeformConv2D(4, 6, 3, stride=2, padding=1, deformable_groups=deformable_groups,
                         modulated=modulated, bias=True)
    layer.bias.set_value(paddle.randn([6]))
    x = paddle.randn([2, 4, 9, 8])
    plain = F.conv2d(x, layer.weight, layer.bias, stride=2, padding=1)
    assert np.abs(layer(x).numpy() - plain.numpy()).max() <= 1e-5
    assert not layer.conv_offset.weight.numpy().any() and not layer.conv_offset.bias.numpy().any()


@pytest.mark.parametrize("modulated, channels", [(False, 2 * 2 * 9), (True, 3 * 2 * 9)])
def test_offset_mask_channels_and_parameter_count(modulated, channels):
    layer = DeformConv2D(4, 6, 3, padding=1, deformable_groups=2, modulated=modulated)
    assert layer.conv_offset.weight.shape == [channels, 4, 3, 3]
    # main conv k*k*C_in*C_out + offset conv k*k*C_in*channels + its bias
    assert sum(int(p.numel()) for p in layer.parameters()) == 9 * 4 * 6 + 9 * 4 * channels + channels


def test_offsets_move_the_output_and_train():
    layer = DeformConv2D(3, 4, 3, padding=1)
    x = paddle.randn([1, 3, 6, 6])
    base = layer(x).numpy()
    layer.conv_offset.bias.set_value(paddle.full(layer.conv_offset.bias.shape, 0.5))
    assert np.abs(layer(x).numpy() - base).max() > 1e-3
    layer(x).sum().backward()
    assert layer.conv_offset.weight.grad is not None and np.abs(layer.conv_offset.weight.grad.numpy()).sum() > 0


def test_bad_groups_explain_the_fix():
    with pytest.raises(ValueError, match="deformable_groups=3"):
        DeformConv2D(4, 4, 3, deformable_groups=3)
