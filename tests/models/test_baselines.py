"""PaddleClas's ResNet keys on the paddle.vision ResNets: ``layer_type`` and ``use_first_short_conv``."""

import numpy as np
import paddle
import pytest

from paddle_conv import create_model
from paddle_conv.arch import build_arch
from paddle_conv.deploy.export import prepare_for_export
from paddle_conv.errors import ConfigError
from paddle_conv.fuse import fuse
from paddle_conv.layers import DiverseBranchBlock


def count(model, cls):
    return sum(isinstance(layer, cls) for layer in model.sublayers())


def randomize_norms(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.sublayers():
        if isinstance(layer, paddle.nn.BatchNorm2D):
            for param, low, high in ((layer.weight, 0.2, 0.6), (layer.bias, -0.1, 0.1), (layer._mean, -0.1, 0.1),
                                     (layer._variance, 0.5, 1.5)):
                param.set_value(rng.uniform(low, high, param.shape).astype("float32"))
    return model


def test_diverse_branch_resnet18_as_paddleclas_builds_it():
    """ResNet18_dbb.yaml: every conv + BN of the 8 basic blocks is a DBB, not the stem's nor the shortcuts'."""
    dbb = create_model("resnet18", num_classes=10, layer_type="DiverseBranchBlock")
    assert count(dbb, DiverseBranchBlock) == 16 and dbb.layer1[0].downsample is None  # Paddle's identity shortcut
    assert count(dbb, paddle.nn.Conv2D) - count(dbb, DiverseBranchBlock) * 5 == 1 + 3  # stem, 3 shortcuts
    bottleneck = create_model("resnet50", num_classes=10, layer_type="DiverseBranchBlock")
    assert count(bottleneck, DiverseBranchBlock) == 3 * 16  # the 1x1 convs too, as PaddleClas's


def test_diverse_branch_resnet_folds_into_the_plain_structure_for_deployment():
    model = randomize_norms(create_model("resnet18", num_classes=10, layer_type="DiverseBranchBlock",
                                         use_first_short_conv=True))
    model.eval()
    x = paddle.to_tensor(np.random.default_rng(1).normal(size=[2, 3, 32, 32]).astype("float32"))
    want = model(x).numpy()
    for deployed in (fuse(model, input_shape=[2, 3, 32, 32]), prepare_for_export(model, [2, 3, 32, 32])):
        assert count(deployed, DiverseBranchBlock) == 0 and count(deployed, paddle.nn.BatchNorm2D) == 0
        got = deployed(x).numpy()
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max()
    assert count(model, DiverseBranchBlock) == 16  # the model itself is left as it was


def test_resnet_keys_from_a_config():
    net = build_arch({"name": "resnet18", "class_num": 3, "use_first_short_conv": True})
    assert net(paddle.randn([1, 3, 32, 32])).shape == [1, 3] and count(net, DiverseBranchBlock) == 0
    assert [type(layer).__name__ for layer in net.layer1[0].downsample] == ["PointwiseConv2D", "BatchNorm2D"]
    assert net.layer1[1].downsample is None and net.layer1[0].downsample[0].weight.shape == [64, 64, 1, 1]
    with pytest.raises(ConfigError, match="layer_type='RepVGG': use one of ConvBNLayer, DiverseBranchBlock"):
        build_arch({"name": "resnet18", "layer_type": "RepVGG"})
    with pytest.raises(ConfigError, match="use_first_short_conv.*another architecture than resnet50"):
        build_arch({"name": "resnet50", "use_first_short_conv": False})  # a bottleneck's first block projects
