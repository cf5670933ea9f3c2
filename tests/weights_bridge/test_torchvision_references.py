"""The references of paddle.vision's other baselines have torchvision's layout, so torchvision's
published ImageNet weights load into them with ``strict=True`` and convert.

Parameter counts are those torchvision's weights metadata documents (``*_Weights.IMAGENET1K_V1``
``num_params``, 1000 classes); the key names and shapes are written from torchvision's model
sources (``models/mobilenetv2.py``, ...).
"""

import pytest

import weights_bridge as wb

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
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_layout_is_torchvisions(name):
    num_params, shapes = TORCHVISION[name]
    model = wb.create_reference(name)
    state = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == num_params
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
