"""DataLoader.validation_split: a seeded hold-out of the training set chooses best_model."""

import os

import numpy as np
import pytest

from paddle_conv.config import load_config
from paddle_conv.data.holdout import holdout_indices, split_for_validation
from paddle_conv.engine import train
from paddle_conv.errors import ConfigError, DataError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(ROOT, "configs", "digits_quick.yaml")


def test_indices_are_a_seeded_disjoint_cover():
    train, val = holdout_indices(50, 0.1, seed=42)
    assert len(val) == 5 and len(train) == 45
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(50))
    np.testing.assert_array_equal(holdout_indices(50, 0.1, seed=42)[1], val)
    assert not np.array_equal(holdout_indices(50, 0.1, seed=7)[1], val)
    with pytest.raises(DataError, match="leaving none"):
        holdout_indices(1, 0.5, seed=0)


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.1, "a"])
def test_config_refuses_fractions_outside_0_1(value):
    with pytest.raises(ConfigError, match="DataLoader.validation_split"):
        load_config(QUICK, [f"DataLoader.validation_split={value}"])


def test_validation_part_uses_the_eval_transforms():
    cfg = load_config(QUICK, ["DataLoader.Train.dataset.max_samples=40",
                              "DataLoader.Train.dataset.transform_ops=[{ToTensor: null}]"])
    data = cfg["DataLoader"]
    train_set, val_set, used = split_for_validation(data["Train"], data["Eval"], 0.25, seed=0)
    assert (len(train_set), len(val_set)) == (30, 10) and used["name"] == "Digits"
    image, _ = val_set[0]
    assert image.min() < 0  # Eval's Normalize(0.5, 0.5), which the training transforms lack
    assert train_set[0][0].min() >= 0


def test_training_chooses_best_model_on_the_holdout_then_tests_it(tmp_path, capsys):
    cfg = load_config(QUICK, [f"Global.output_dir={tmp_path}", "Global.epochs=1", "Global.use_visualdl=false",
                              "DataLoader.Train.dataset.max_samples=60", "DataLoader.Train.sampler.batch_size=16",
                              "DataLoader.Eval.dataset.max_samples=32", "DataLoader.validation_split=0.2"])
    summary = train(cfg)
    out = capsys.readouterr().out
    assert "DataLoader.Train: Digits, 48 samples" in out
    assert "DataLoader.validation_split: Digits, 12 samples" in out
    assert "DataLoader.Eval: Digits, 32 samples" in out  # the test set, once, with best_model
    assert summary["best_epoch"] == 1 and set(summary["test"]) >= {"acc_top1", "loss"}
