"""The ResNet-50 reference has torchvision's layout, and torchvision-layout weights give paddle_conv's
``resnet50`` / ``resnet50_dcn`` the same outputs.

The expected layout is written from torchvision's ``models/resnet.py`` (``Bottleneck`` registers
``conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample``; ``ResNet`` registers ``conv1, bn1, relu,
maxpool, layer1..4, avgpool, fc``; ``downsample = Sequential(conv1x1, norm)``; the 3x3 conv carries
the stride) and its weights' metadata (``ResNet50_Weights.IMAGENET1K_V1``: ``num_params`` 25,557,032).
"""

import numpy as np
import paddle
import pytest
import torch

import weights_bridge as wb
from paddle_conv.factory import create_model
from weights_bridge import parity

BLOCK = ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
         "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
         "conv3.weight", "bn3.weight", "bn3.bias", "bn3.running_mean", "bn3.running_var", "bn3.num_batches_tracked"]
DOWNSAMPLE = ["downsample.0.weight", "downsample.1.weight", "downsample.1.bias", "downsample.1.running_mean",
              "downsample.1.running_var", "downsample.1.num_batches_tracked"]


def _torchvision_resnet50_keys():
    keys = ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked"]
    for stage, blocks in enumerate((3, 4, 6, 3), start=1):
        for i in range(blocks):
            keys += [f"layer{stage}.{i}.{k}" for k in BLOCK + (DOWNSAMPLE if i == 0 else [])]
    return keys + ["fc.weight", "fc.bias"]


def test_layout_is_torchvisions():
    state = wb.create_reference("resnet50").state_dict()
    assert list(state) == _torchvision_resnet50_keys()
    assert len(state) == 320
    assert sum(p.numel() for p in wb.create_reference("resnet50").parameters()) == 25_557_032
    shapes = {"conv1.weight": (64, 3, 7, 7), "layer1.0.conv1.weight": (64, 64, 1, 1),
              "layer1.0.downsample.0.weight": (256, 64, 1, 1), "layer2.0.conv2.weight": (128, 128, 3, 3),
              "layer2.0.downsample.0.weight": (512, 256, 1, 1), "layer4.2.bn3.running_var": (2048,),
              "fc.weight": (1000, 2048), "fc.bias": (1000,)}
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key


def test_dcn_layout_is_deformconv2d_plus_offset_and_mask_convs():
    state = wb.create_reference("resnet50_dcn").state_dict()
    assert tuple(state["layer2.0.conv2.weight"].shape) == (128, 128, 3, 3)  # DeformConv2d's weight, no bias
    assert "layer2.0.conv2.bias" not in state
    assert tuple(state["layer2.0.conv2.offset_conv.weight"].shape) == (18, 128, 3, 3)
    assert tuple(state["layer2.0.conv2.mask_conv.bias"].shape) == (9,)
    assert "layer1.0.conv2.offset_conv.weight" not in state  # stage 2 keeps plain convs
    plan = wb.convert.plan_conversion(wb.create_reference("resnet50_dcn"), wb.convert.key_mapping("resnet50_dcn"))
    entries = plan.by_paddle_key()["layer2.0.conv2.conv_offset.weight"]
    assert [(e.torch_key, e.part) for e in entries] == [("layer2.0.conv2.offset_conv.weight", (0, 18)),
                                                         ("layer2.0.conv2.mask_conv.weight", (18, 27))]


@pytest.fixture(scope="module")
def torchvision_like_resnet50():
    torch.set_num_threads(1)
    return parity.randomize_torch_(wb.create_reference("resnet50"), seed=5).eval()


def _outputs(torch_model, paddle_model, x):
    paddle_model.eval()
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    with paddle.no_grad():
        return expected, paddle_model(paddle.to_tensor(x)).numpy()


def test_torchvision_weights_into_resnet50_give_equal_outputs(torchvision_like_resnet50):
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype("float32")
    model = create_model("resnet50")
    model.set_state_dict(wb.torch_to_paddle(torchvision_like_resnet50.state_dict(), "resnet50"))
    expected, got = _outputs(torchvision_like_resnet50, model, x)
    assert parity.compare("resnet50", expected, got).ok


def test_torchvision_backbone_into_resnet50_dcn_starts_as_the_plain_network(torchvision_like_resnet50):
    """Partial transfer: the deformable convs take the 3x3 weights, their offset/mask predictors
    stay at their zero start (offsets 0, mask 1), so the network computes ResNet-50's function."""
    result = wb.convert_state(torchvision_like_resnet50.state_dict(), "resnet50_dcn",
                              allow_missing=["*.offset_conv.*", "*.mask_conv.*"])
    assert sorted(result.initialised) == sorted(f"layer{s}.{i}.conv2.conv_offset.{p}"
                                                for s, n in ((2, 4), (3, 6), (4, 3)) for i in range(n)
                                                for p in ("weight", "bias"))
    assert len(result.filled) + len(result.initialised) == len(result.state)
    model = create_model("resnet50_dcn")
    model.set_state_dict(result.state)
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype("float32")
    expected, got = _outputs(torchvision_like_resnet50, model, x)
    assert parity.compare("resnet50_dcn", expected, got).ok
