import paddle
import pytest

import paddle_conv as pc

# Trainable parameter counts of the PyTorch reference (d-li14/octconv.pytorch).
REFERENCE_COUNTS = [
    ("oct_resnet26", 1000, 15_995_176),
    ("oct_resnet50", 1000, 25_557_032),
    ("oct_resnet50", 10, 23_528_522),
    ("oct_resnet101", 1000, 44_549_160),
    ("oct_resnet152", 1000, 60_192_808),
    ("oct_resnet200", 1000, 64_673_832),
    ("oct_mobilenet", 1000, 4_231_976),
    ("oct_mobilenet", 10, 3_217_226),
]


def trainable(model):
    return sum(int(p.numel()) for p in model.parameters() if not p.stop_gradient)


@pytest.mark.parametrize("name,num_classes,count", REFERENCE_COUNTS)
def test_parameter_count_equals_reference(name, num_classes, count):
    assert trainable(pc.create_model(name, num_classes=num_classes)) == count


def test_registry_lists_the_family():
    assert {"oct_mobilenet", "oct_resnet26", "oct_resnet50", "oct_resnet101", "oct_resnet152", "oct_resnet200",
            "resnet50", "mobilenet_v1"} <= set(pc.list_models())
    assert pc.list_models("oct_resnet1*") == ["oct_resnet101", "oct_resnet152"]


@pytest.fixture(scope="module")
def oct_resnet50():
    model = pc.create_model("oct_resnet50")
    model.eval()
    return model


@pytest.mark.parametrize("h,w", [(224, 224), (65, 47), (33, 33)])
def test_oct_resnet50_any_input_size(oct_resnet50, h, w):
    with paddle.no_grad():
        assert oct_resnet50(paddle.randn([1, 3, h, w])).shape == [1, 1000]


@pytest.mark.parametrize("h,w", [(224, 224), (65, 47), (33, 33)])
def test_oct_mobilenet_any_input_size(h, w):
    model = pc.create_model("oct_mobilenet", num_classes=10)
    model.eval()
    with paddle.no_grad():
        assert model(paddle.randn([2, 3, h, w])).shape == [2, 10]


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v1"])
def test_baselines(name):
    model = pc.create_model(name, num_classes=7)
    model.eval()
    with paddle.no_grad():
        assert model(paddle.randn([1, 3, 33, 33])).shape == [1, 7]


def test_alpha_changes_the_split():
    model = pc.create_model("oct_mobilenet", num_classes=10, alpha=0.25)
    octave = model.features[3][1].conv
    assert octave.channels_in == (96, 32) and octave.channels_out == (96, 32)


def test_training_step_reaches_every_parameter():
    model = pc.create_model("oct_resnet26", num_classes=3)
    loss = paddle.nn.functional.cross_entropy(model(paddle.randn([2, 3, 32, 32])), paddle.to_tensor([0, 2]))
    loss.backward()
    trainable_params = [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]
    missing = [n for n, p in trainable_params if p.grad is None or float(p.grad.abs().sum()) == 0]
    assert not missing


def test_zero_init_residual_zeroes_last_bn():
    model = pc.create_model("oct_resnet26", zero_init_residual=True)
    block = model.layer2[0]
    assert float(block.conv3.bn_h.weight.abs().sum()) == 0 and float(block.conv3.bn_l.weight.abs().sum()) == 0


@pytest.mark.parametrize("name", ["oct_mobilenet", "oct_resnet26"])
def test_alpha_one_config_builds_all_low_frequency_models(name):
    """The seed's range is alpha in [0, 1]: Arch.alpha=1.0 validates, builds and runs."""
    from paddle_conv.build import build_model
    from paddle_conv.config import load_config

    cfg = load_config("configs/digits_quick.yaml", [f"Arch.name={name}", "Arch.alpha=1.0"])
    model = build_model(cfg["Arch"])
    model.eval()
    all_low = [m for m in model.sublayers() if isinstance(m, pc.layers.OctaveConv) and m.alpha_out == 1]
    assert all_low and all(m.conv_h2h is None and m.conv_l2h is None for m in all_low)
    with paddle.no_grad():
        assert model(paddle.randn([1, 3, 32, 32])).shape == [1, 10]
