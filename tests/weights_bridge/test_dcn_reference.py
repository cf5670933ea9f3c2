"""DeformConv2D (paddle.vision.ops.deform_conv2d) against the pure-torch reference."""

import numpy as np
import paddle
import pytest
import torch

from paddle_conv.layers import DeformConv2D
from weights_bridge.references.dcn_torch import deform_conv2d as torch_deform_conv2d

TOL = 1e-5


@pytest.mark.parametrize("modulated", [False, True], ids=["v1", "v2"])
@pytest.mark.parametrize("deformable_groups", [1, 2])
@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 1, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1)])
def test_layer_matches_reference_on_random_offsets_and_masks(modulated, deformable_groups, stride, padding,
                                                              dilation, groups):
    paddle.seed(7)
    layer = DeformConv2D(4, 6, 3, stride=stride, padding=padding, dilation=dilation, groups=groups,
                         deformable_groups=deformable_groups, modulated=modulated, bias=True)
    rng = np.random.default_rng(0)
    for p in [layer.bias, layer.conv_offset.weight, layer.conv_offset.bias]:  # offsets of a few pixels
        p.set_value(rng.standard_normal(p.shape).astype("float32") * 0.5)
    x = rng.standard_normal((2, 4, 9, 8)).astype("float32")
    out = layer(paddle.to_tensor(x)).numpy()

    t = {k: torch.tensor(v.numpy()) for k, v in layer.state_dict().items()}
    xt = torch.tensor(x)
    pred = torch.nn.functional.conv2d(xt, t["conv_offset.weight"], t["conv_offset.bias"], stride=stride,
                                      padding=padding, dilation=dilation)
    n = layer.num_offsets
    offset = pred[:, :n]
    assert offset.abs().max() > 1.0  # genuinely fractional, multi-pixel offsets
    mask = 2 * torch.sigmoid(pred[:, n:]) if modulated else None
    ref = torch_deform_conv2d(xt, offset, t["weight"], t["bias"], stride, padding, dilation, mask).numpy()
    assert np.abs(out - ref).max() <= TOL


@pytest.mark.parametrize("modulated", [False, True], ids=["v1", "v2"])
@pytest.mark.parametrize("deformable_groups", [1, 2])
def test_functional_matches_reference_with_out_of_image_samples(modulated, deformable_groups):
    rng = np.random.default_rng(deformable_groups)
    x = rng.standard_normal((2, 4, 6, 7)).astype("float32")
    w = rng.standard_normal((6, 4, 3, 3)).astype("float32")
    offset = (rng.standard_normal((2, deformable_groups * 18, 6, 7)) * 3).astype("float32")
    mask = rng.uniform(0, 1, (2, deformable_groups * 9, 6, 7)).astype("float32") if modulated else None
    out = paddle.vision.ops.deform_conv2d(paddle.to_tensor(x), paddle.to_tensor(offset), paddle.to_tensor(w),
                                          padding=1, deformable_groups=deformable_groups,
                                          mask=None if mask is None else paddle.to_tensor(mask)).numpy()
    ref = torch_deform_conv2d(torch.tensor(x), torch.tensor(offset), torch.tensor(w), padding=1,
                              mask=None if mask is None else torch.tensor(mask)).numpy()
    assert np.abs(out - ref).max() <= TOL


def test_reference_at_zero_offset_is_a_plain_conv():
    x, w = torch.randn(1, 3, 5, 6), torch.randn(4, 3, 3, 3)
    ref = torch_deform_conv2d(x, torch.zeros(1, 18, 2, 2), w, stride=2, padding=0)
    torch.testing.assert_close(ref, torch.nn.functional.conv2d(x, w, stride=2), atol=1e-5, rtol=0)


def test_reference_offset_layout_is_dy_dx():
    x = torch.arange(20.0).reshape(1, 1, 4, 5)
    w = torch.ones(1, 1, 1, 1)
    shift_down = torch.tensor([1.0, 0.0]).reshape(1, 2, 1, 1).expand(1, 2, 4, 5)
    out = torch_deform_conv2d(x, shift_down, w)
    torch.testing.assert_close(out[0, 0, :3], x[0, 0, 1:])  # (dy, dx) = (1, 0) reads the row below
    assert (out[0, 0, 3] == 0).all()  # below the image: zero
