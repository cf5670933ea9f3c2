"""The torch reference keeps d-li14/octconv.pytorch's state_dict layout (counts, order, shapes
measured on upstream's code), so upstream checkpoints load with strict=True."""

import pytest
import torch

from weights_bridge.convert import build_torch_skeleton
from weights_bridge.references import list_references
from weights_bridge.references.octconv_torch import OctaveConv

# len(state_dict()) of upstream's models (num_batches_tracked included)
UPSTREAM_KEY_COUNTS = {"oct_resnet26": 342, "oct_resnet50": 654, "oct_resnet101": 1368, "oct_resnet152": 2082,
                       "oct_resnet200": 2754, "oct_mobilenet": 303}


@pytest.mark.parametrize("name", sorted(UPSTREAM_KEY_COUNTS))
def test_key_count_matches_upstream(name):
    assert len(build_torch_skeleton(name).state_dict()) == UPSTREAM_KEY_COUNTS[name]


def test_every_octconv_model_has_a_reference():
    assert set(UPSTREAM_KEY_COUNTS) <= set(list_references())


def test_oct_resnet50_layout():
    sd = build_torch_skeleton("oct_resnet50").state_dict()
    keys = list(sd)
    assert keys[:6] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                        "bn1.num_batches_tracked"]
    # upstream registers l2l, l2h, h2l, h2h in this order
    block = [k for k in keys if k.startswith("layer2.1.conv2.conv.")]
    assert block == [f"layer2.1.conv2.conv.conv_{b}.weight" for b in ("l2l", "l2h", "h2l", "h2h")]
    assert sd["layer1.0.conv1.conv.conv_h2l.weight"].shape == (32, 64, 1, 1)
    assert "layer1.0.conv1.conv.conv_l2l.weight" not in sd  # alpha_in = 0 in the first block
    assert sd["layer1.0.downsample.0.bn_l.weight"].shape == (128,)
    assert sd["layer4.0.conv1.conv.conv_l2h.weight"].shape == (512, 512, 1, 1)
    assert "layer4.0.conv1.bn_l.weight" not in sd and "layer4.1.conv1.conv.conv_l2h.weight" not in sd
    assert sd["fc.weight"].shape == (1000, 2048) and keys[-2:] == ["fc.weight", "fc.bias"]


def test_oct_mobilenet_layout():
    sd = build_torch_skeleton("oct_mobilenet").state_dict()
    assert sd["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert sd["features.1.0.conv.conv_h2h.weight"].shape == (32, 1, 3, 3)  # depthwise, alpha 0
    assert sd["features.2.0.conv.conv_l2l.weight"].shape == (32, 1, 3, 3)  # depthwise, low half
    assert "features.2.0.conv.conv_l2h.weight" not in sd  # depthwise: no cross terms
    assert sd["features.11.1.conv.conv_l2h.weight"].shape == (512, 256, 1, 1)  # merge block
    assert "features.11.1.bn_l.weight" not in sd and "features.14.0.conv.conv_h2h.weight" not in sd
    assert sd["fc.weight"].shape == (1000, 1024)


def test_reference_fails_like_upstream_on_odd_low_branch():
    conv = OctaveConv(8, 8, 3, alpha_in=0.5, alpha_out=0.5, padding=1)
    x_h, x_l = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 3, 3)
    conv((x_h, x_l))  # even high branch works
    with pytest.raises(RuntimeError):
        conv((torch.randn(1, 4, 7, 7), torch.randn(1, 4, 4, 4)))
