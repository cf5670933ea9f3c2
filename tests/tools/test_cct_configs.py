"""The CCT recipe configs load, validate and build what they describe."""

import pytest

from paddle_conv.build import build_model
from paddle_conv.config import load_config
from paddle_conv.data import build_transforms


@pytest.mark.parametrize("path,arch,params", [
    ("configs/cct_keras_cifar.yaml", "cct_keras_cifar", 416_331),
    ("configs/cct_7_3x1_32.yaml", "cct_7_3x1_32", 3_760_139),
])
def test_recipe_builds_its_model_with_label_smoothing_and_adamw(path, arch, params):
    cfg = load_config(path)
    assert cfg["Arch"]["name"] == arch and cfg["Arch"]["num_classes"] == 10
    model = build_model(cfg["Arch"])
    assert sum(int(p.numel()) for p in model.parameters() if not p.stop_gradient) == params
    assert cfg["Loss"]["Train"] == [{"CELoss": {"weight": 1.0, "epsilon": 0.1}}]
    assert cfg["Optimizer"]["name"] == "AdamW"
    for split in ("Train", "Eval"):
        dataset = cfg["DataLoader"][split]["dataset"]
        assert dataset["name"] == "Cifar10" and dataset["fallback"]["name"] == "Digits"
        assert build_transforms(dataset["transform_ops"]) is not None


def test_upstream_cifar_schedule_and_keras_constant_rate():
    upstream = load_config("configs/cct_7_3x1_32.yaml")
    assert upstream["Global"]["epochs"] == 300
    assert upstream["Optimizer"]["coeff"] == pytest.approx(0.06)
    assert upstream["Optimizer"]["lr"] == {"name": "Cosine", "learning_rate": 0.00055, "eta_min": 0.00001,
                                           "warmup_epoch": 10, "warmup_start_lr": 0.00001}
    keras = load_config("configs/cct_keras_cifar.yaml")
    assert keras["Global"]["epochs"] == 30
    assert keras["Optimizer"]["coeff"] == pytest.approx(0.0001)
    assert keras["Optimizer"]["lr"] == {"name": "Constant", "learning_rate": 0.001}
    assert keras["DataLoader"]["Train"]["sampler"]["batch_size"] == 128


def test_keras_recipe_chooses_best_model_on_a_tenth_of_train():
    assert load_config("configs/cct_keras_cifar.yaml")["DataLoader"]["validation_split"] == pytest.approx(0.1)
