import paddle
import paddle.vision.models as vision_models
import pytest

from paddle_conv.config import load_config
from paddle_conv.engine import train
from paddle_conv.factory import create_model
from paddle_conv.io import safe_paddle_load
from paddle_conv.layers import Bottleneck, DeformConv2D, DenseConv2D, RefConv2D


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_plain_conv_resnet50_matches_paddle_vision_names_and_shapes():
    assert shapes(create_model("conv_resnet50")) == shapes(vision_models.resnet50())


def test_resnet50_dcn_has_dcnv2_in_stages_3_to_5_only():
    model = create_model("resnet50_dcn", num_classes=7)
    for stage, blocks in zip((2, 3, 4, 5), (3, 4, 6, 3)):
        layer = getattr(model, f"layer{stage - 1}")
        convs = [block.conv2 for block in layer if isinstance(block, Bottleneck)]
        assert len(convs) == blocks
        assert all(isinstance(c, DeformConv2D) == (stage >= 3) for c in convs)
        assert all(c.modulated for c in convs if isinstance(c, DeformConv2D))
    model.eval()
    assert model(paddle.randn([1, 3, 32, 32])).shape == [1, 7]


def test_conv_kind_is_chosen_by_name():
    model = create_model("conv_resnet50", num_classes=3, conv="refconv", conv_stages=[5])
    kinds = [type(block.conv2) for block in model.layer4] + [type(block.conv2) for block in model.layer3]
    assert kinds == [RefConv2D] * 3 + [DenseConv2D] * 6
    with pytest.raises(ValueError, match="stages are 2, 3, 4 and 5"):
        create_model("conv_resnet50", conv_stages=[1])
    with pytest.raises(ValueError, match="oct_resnet50"):
        create_model("conv_resnet50", conv="octave")


def test_resnet50_dcn_trains_from_a_config(tmp_path):
    digits = "{name: Digits, mode: %s, image_size: 16, max_samples: 16, transform_ops: [ToTensor: null]}"
    cfg = load_config("configs/digits_quick.yaml", [
        "Arch={name: resnet50_dcn, class_num: 10}", "Global.epochs=1", f"Global.output_dir={tmp_path}",
        "Global.image_shape=[3, 16, 16]", "Global.use_visualdl=false", "Global.eval_during_train=false",
        f"DataLoader.Train.dataset={digits % 'train'}", "DataLoader.Train.sampler.batch_size=8",
    ])
    summary = train(cfg)
    assert summary["epochs_run"] == 1
    state = safe_paddle_load(str(tmp_path / "resnet50_dcn" / "latest.pdparams"))
    assert any(k.endswith("conv2.conv_offset.weight") for k in state)
