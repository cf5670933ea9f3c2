"""The references of paddle.vision's other baselines have torchvision's layout, so torchvision's
published ImageNet weights load into them with ``strict=True`` and convert.

Parameter counts are those torchvision's weights metadata documents (``*_Weights.IMAGENET1K_V1``
``num_params``, 1000 classes); the key names and shapes are written from torchvision's model
sources (``models/mobilenetv2.py``, ...).
"""

import re

import numpy as np
import pytest

import weights_bridge as wb
from weights_bridge.identify import best_matches

#: name -> (num_params of torchvision's IMAGENET1K_V1 weights, {state-dict key: shape})
TORCHVISION = {
    "mobilenet_v2": (3_504_872, {
        "features.0.0.weight": (32, 3, 3, 3), "features.0.1.running_var": (32,),
        "features.1.conv.0.0.weight": (32, 1, 3, 3),  # t=1: no expansion, depthwise first
        "features.1.conv.1.weight": (16, 32, 1, 1), "features.1.conv.2.bias": (16,),
        "features.2.conv.0.0.weight": (96, 16, 1, 1), "features.2.conv.1.0.weight": (96, 1, 3, 3),
        "features.2.conv.2.weight": (24, 96, 1, 1), "features.2.conv.3.num_batches_tracked": (),
        "features.17.conv.2.weight": (320, 960, 1, 1), "features.18.0.weight": (1280, 320, 1, 1),
        "classifier.1.weight": (1000, 1280), "classifier.1.bias": (1000,)}),
    "mobilenet_v3_small": (2_542_856, {
        "features.0.0.weight": (16, 3, 3, 3), "features.0.1.running_mean": (16,),
        "features.1.block.0.0.weight": (16, 1, 3, 3),  # no expansion: depthwise, SE, project
        "features.1.block.1.fc1.weight": (8, 16, 1, 1), "features.1.block.1.fc2.bias": (16,),
        "features.1.block.2.0.weight": (16, 16, 1, 1), "features.2.block.0.0.weight": (72, 16, 1, 1),
        "features.4.block.1.0.weight": (96, 1, 5, 5), "features.4.block.2.fc1.weight": (24, 96, 1, 1),
        "features.4.block.3.1.weight": (40,), "features.12.0.weight": (576, 96, 1, 1),
        "classifier.0.weight": (1024, 576), "classifier.3.weight": (1000, 1024)}),
    "mobilenet_v3_large": (5_483_032, {
        "features.1.block.0.0.weight": (16, 1, 3, 3), "features.1.block.1.0.weight": (16, 16, 1, 1),
        "features.2.block.0.0.weight": (64, 16, 1, 1), "features.4.block.2.fc1.weight": (24, 72, 1, 1),
        "features.7.block.2.0.weight": (80, 240, 1, 1), "features.15.block.2.fc2.weight": (960, 240, 1, 1),
        "features.16.0.weight": (960, 160, 1, 1), "classifier.0.weight": (1280, 960),
        "classifier.3.bias": (1000,)}),
    "shufflenet_v2_x1_0": (2_278_604, {
        "conv1.0.weight": (24, 3, 3, 3), "conv1.1.running_var": (24,),
        "stage2.0.branch1.0.weight": (24, 1, 3, 3), "stage2.0.branch1.2.weight": (58, 24, 1, 1),
        "stage2.0.branch1.3.bias": (58,), "stage2.0.branch2.0.weight": (58, 24, 1, 1),
        "stage2.0.branch2.3.weight": (58, 1, 3, 3), "stage2.1.branch2.0.weight": (58, 58, 1, 1),
        "stage3.7.branch2.6.running_mean": (116,), "stage4.0.branch1.2.weight": (232, 232, 1, 1),
        "conv5.0.weight": (1024, 464, 1, 1), "fc.weight": (1000, 1024)}),
    "densenet121": (7_978_856, {
        "features.conv0.weight": (64, 3, 7, 7), "features.norm0.running_mean": (64,),
        "features.denseblock1.denselayer1.norm1.weight": (64,),
        "features.denseblock1.denselayer1.conv1.weight": (128, 64, 1, 1),
        "features.denseblock1.denselayer1.conv2.weight": (32, 128, 3, 3),
        "features.denseblock1.denselayer6.norm1.bias": (224,), "features.transition1.conv.weight": (128, 256, 1, 1),
        "features.denseblock2.denselayer12.conv1.weight": (128, 480, 1, 1),
        "features.transition3.norm.running_var": (1024,),
        "features.denseblock4.denselayer16.conv1.weight": (128, 992, 1, 1),
        "features.norm5.weight": (1024,), "classifier.weight": (1000, 1024)}),
}
#: prefixes torchvision's layout does not have (stride-1 ShuffleNet units have an empty ``branch1``)
ABSENT = {"shufflenet_v2_x1_0": ("stage2.1.branch1.",)}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_layout_is_torchvisions(name):
    num_params, shapes = TORCHVISION[name]
    model = wb.create_reference(name)
    state = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == num_params
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert not [k for k in state if k.startswith(ABSENT.get(name, ()))]


def test_densenet_file_with_torchvisions_old_names_converts():
    """torchvision's published DenseNet file spells dense-layer tensors ``norm.1`` / ``conv.2``; the
    converter (and ``--inspect``) reads them as torchvision's loader does, into the same Paddle weights."""
    state = wb.create_reference("densenet121", num_classes=10).state_dict()
    old = {re.sub(r"(denselayer\d+\.(?:norm|conv))([12])\.", r"\1.\2.", k): v for k, v in state.items()}
    assert "features.denseblock3.denselayer24.conv.2.weight" in old
    expected = wb.torch_to_paddle(state, "densenet121", num_classes=10)
    got = wb.torch_to_paddle(old, "densenet121", num_classes=10)
    assert list(got) == list(expected)
    assert all(np.array_equal(got[k].numpy(), expected[k].numpy()) for k in expected)
    assert best_matches(old, "torch", top=1)[0].startswith("densenet121 (606/606 of its keys, 0 other")
