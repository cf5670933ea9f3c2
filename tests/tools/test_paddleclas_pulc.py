"""PaddleClas's PULC configs (practical scenario models) and its multi-label attribute configs, unchanged,
trained with one of our models on tiny generated data sets (``$PADDLECLAS_CONFIGS`` as in
``test_paddleclas_real_configs.py``; every test skips when the tree is absent).

- Two 2-class PULC configs (a MobileNetV3 and a PPLCNet one, TprAtFpr and ThreshOutput) train two epochs
  with ``Global.start_eval_epoch=2``: no evaluation after epoch 1, one after epoch 2 that writes
  ``best_model`` by TprAtFpr; then evaluate, export and infer (class names from ThreshOutput's labels).
- Two PPLCNet configs with PPLCNet's own keys train one epoch with our ``pplcnet_x1_0``, evaluate, export and
  infer: language classification (``stride_list: [2, [2, 1], ...]`` on 80x160 images, ``lr_mult_list`` with a
  frozen stem) and image orientation (``CustomLabelDataset``: RandomRot90 makes the label, ``use_last_conv:
  false``).
- Three multi-label attribute configs (PULC person / vehicle attributes, Attr/) train one epoch on a
  generated ``image<TAB>0,1,...`` list: MultiLabelDataset, MultiLabelLoss, ATTRMetric (best_model by mA).
"""

import json
import os

import numpy as np
import paddle
import pytest
from PIL import Image

from paddle_conv.build import build_model
from paddle_conv.config import load_config
from paddle_conv.deploy import Predictor
from paddle_conv.engine.trainer import seed_everything
from tests.tools.test_paddleclas_real_configs import (
    CONFIGS,
    data_overrides,
    our_model,
    run_args,
    train_evaluate_export_infer,
)
from tools import eval as eval_tool
from tools import export as export_tool
from tools import infer as infer_tool
from tools import train as train_tool

pytestmark = pytest.mark.skipif(not os.path.isdir(os.path.join(CONFIGS, "PULC")),
                                reason=f"no PaddleClas configs at {CONFIGS} (set PADDLECLAS_CONFIGS to the "
                                       "ppcls/configs folder of a PaddleClas 2.6 checkout)")


def _images(root, count=8):
    """``count`` PNG images ``img{i}.png`` under ``root``: dark for even ``i``, bright for odd."""
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = (rng.random((40, 48, 3)) * 120 + (i % 2) * 120).astype("uint8")
        Image.fromarray(pixels).save(root / f"img{i}.png")


@pytest.fixture(scope="module")
def binary_list(tmp_path_factory):
    """8 images, label 1 for the bright ones (PULC's "someone" / "contains_car")."""
    root = tmp_path_factory.mktemp("binary")
    _images(root)
    (root / "list.txt").write_text("".join(f"img{i}.png {i % 2}\n" for i in range(8)))
    return root


@pytest.fixture(scope="module")
def attribute_list(tmp_path_factory):
    """8 images with 4 attributes each (tab, then 0/1 labels by commas; one unknown -1), as PaddleClas lists."""
    root = tmp_path_factory.mktemp("attributes")
    _images(root)
    rows = [[i % 2, 1 - i % 2, int(i < 4), -1 if i == 5 else int(i % 3 == 0)] for i in range(8)]
    (root / "list.txt").write_text("".join(f"img{i}.png\t{','.join(map(str, r))}\n" for i, r in enumerate(rows)))
    return root


PULC = [("PULC/person_exists/MobileNetV3_small_x0_35.yaml", ("nobody", "someone")),
        ("PULC/car_exists/PPLCNet_x1_0.yaml", ("no_car", "contains_car"))]


@pytest.mark.parametrize("name, labels", PULC)
def test_pulc_config_evaluates_from_start_eval_epoch_then_exports_and_infers(name, labels, binary_list, tmp_path,
                                                                            capsys):
    config = os.path.join(CONFIGS, name)
    overrides = [*data_overrides(binary_list, config, classes=2), "Arch.pretrained=false", "Global.epochs=2",
                 "Global.start_eval_epoch=2", "Global.eval_interval=1"]
    args = run_args(overrides, tmp_path)
    assert train_tool.main(["-c", config, *args]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    epoch_lines = [line for line in printed.splitlines() if line.startswith("epoch ")]
    assert epoch_lines[0].startswith("epoch 1/2: train") and "| eval" not in epoch_lines[0], epoch_lines
    assert epoch_lines[1].startswith("epoch 2/2: train") and "| eval" in epoch_lines[1], epoch_lines
    assert "TprAtFpr" in epoch_lines[1]
    run = tmp_path / "out" / "tiny_cnn"
    best = json.loads((run / "best_model.json").read_text())
    assert (best["metric"], best["best_epoch"]) == ("TprAtFpr", 2)

    weights = ["-o", f"Global.pretrained_model={run}/best_model"]
    assert eval_tool.main(["-c", config, *args, *weights]) == 0, capsys.readouterr().err
    assert export_tool.main(["-c", config, *args, *weights]) == 0, capsys.readouterr().err
    capsys.readouterr()
    images = [str(binary_list / f"img{i}.png") for i in range(2)]
    assert infer_tool.main(["-c", config, *args, "--input", *images, "--json"]) == 0, capsys.readouterr().err
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(results) == 2
    for result in results:  # ThreshOutput: one class, named by label_0 / label_1
        assert len(result["class_ids"]) == 1 and result["labels"] == [labels[result["class_ids"][0]]]


@pytest.mark.parametrize("name, classes", [("PULC/language_classification/PPLCNet_x1_0.yaml", 10),
                                           ("PULC/image_orientation/PPLCNet_x1_0.yaml", 4)])
def test_pplcnet_config_trains_with_its_own_keys_then_exports(name, classes, binary_list, tmp_path, capsys):
    config = os.path.join(CONFIGS, name)
    overrides = [*data_overrides(binary_list, config, our_model(config), classes), "Arch.pretrained=false",
                 "Global.eval_interval=1"]
    if "image_orientation" in name:  # CustomLabelDataset: one image path per line, the rotation is the label
        (binary_list / "paths.txt").write_text("".join(f"img{i}.png\n" for i in range(8)))
        overrides.append(f"DataLoader.Train.dataset.sample_list_path={binary_list / 'paths.txt'}")
    args = run_args(overrides, tmp_path)
    arch = load_config(config, args[1::2])["Arch"]
    assert arch["name"] == "pplcnet_x1_0" and ("stride_list" in arch or arch["use_last_conv"] is False)
    best = train_evaluate_export_infer(config, args, "pplcnet_x1_0", capsys)
    cfg = load_config(config, args[1::2])
    if "image_orientation" in name:  # its list has no labels: only the rotation labels these images
        assert cfg["DataLoader"]["Train"]["dataset"]["name"] == "CustomLabelDataset"
    if "language" in name:  # lr_mult_list [0.0, 0.4, ...]: the stem kept its initial weights, the rest trained
        seed_everything(cfg["Global"]["seed"])  # as the trainer before it builds the model
        initial = build_model(cfg["Arch"], pretrained=False).state_dict()
        trained = paddle.load(best + ".pdparams")
        for key, same in (("conv1.conv.weight", True), ("blocks2.0.dw_conv.conv.weight", False),
                          ("fc.weight", False)):
            assert np.array_equal(trained[key].numpy(), initial[key].numpy()) == same, key
    height, width = cfg["Global"]["image_shape"][1:]
    out = Predictor(str(tmp_path / "inf" / "inference"), device="cpu")(np.zeros([1, 3, height, width], "float32"))[0]
    assert out.shape == (1, classes)


ATTRIBUTES = ["PULC/person_attribute/PPLCNet_x1_0.yaml", "PULC/vehicle_attribute/MobileNetV3_small_x0_35.yaml",
              "Attr/StrongBaselineAttr.yaml"]


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_multi_label_attribute_config_trains_one_epoch(name, attribute_list, tmp_path, capsys):
    config = os.path.join(CONFIGS, name)
    overrides = [*data_overrides(attribute_list, config, classes=4), "Arch.pretrained=false", "Global.epochs=1",
                 "Global.start_eval_epoch=0"]
    assert train_tool.main(["-c", config, *run_args(overrides, tmp_path)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "DataLoader.Train: MultiLabelDataset, 8 samples" in printed
    line = next(line for line in printed.splitlines() if line.startswith("epoch 1/1"))
    assert "| eval" in line and " mA " in line and "instance_f1" in line, line
    best = json.loads((tmp_path / "out" / "tiny_cnn" / "best_model.json").read_text())
    assert best["metric"] == "mA" and 0.0 <= best["best_metric"] <= 1.0
