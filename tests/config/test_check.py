"""``tools/train.py --check``, the PaddleClas sections and the older top-level layout."""

import glob
import os

import pytest
import yaml

from paddle_conv.cli import run_cli
from paddle_conv.config import load_config
from paddle_conv.config.check import check_config
from paddle_conv.engine.trainer import environment_notes
from paddle_conv.errors import ConfigError
from tools import train as train_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PPCLS_CONFIGS = sorted(glob.glob(os.path.join(ROOT, "configs", "ppcls_*.yaml")))


@pytest.mark.parametrize("path", PPCLS_CONFIGS, ids=os.path.basename)
def test_our_paddleclas_vocabulary_configs_would_train(path, capsys):
    assert len(PPCLS_CONFIGS) >= 5
    assert run_cli(train_tool.main, ["-c", path, "--check"]) == 0
    out = capsys.readouterr().out
    assert "would train" in out and "refused" not in out.splitlines()[0]
    cfg = load_config(path)
    assert next(iter(cfg["DataLoader"]["Train"]["dataset"]["transform_ops"][0])) == "DecodeImage"
    assert next(iter(cfg["Infer"]["transforms"][-1])) == "ToCHWImage"


def write(tmp_path, cfg):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def test_check_lists_warned_and_every_refused_key_and_exits_2(tmp_path, capsys):
    cfg = yaml.safe_load(open(PPCLS_CONFIGS[0]))
    cfg["Global"].update(use_dali=True, feature_normalize=True)
    cfg["Arch"]["use_fused_attn"] = True
    cfg["Arch"]["layer_scale_init_value"] = 1e-5  # ConvNeXt's, not at its default 1e-6
    cfg["Arch"]["use_first_short_conv"] = True  # ResNet's, at its default
    path = write(tmp_path, cfg)
    assert run_cli(train_tool.main, ["-c", path, "--check", "-o", "Global.device=cpu"]) == 2
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[:-1]}
    assert rows["Global.use_dali"] == "warned" and rows["Arch.use_fused_attn"] == "warned"
    assert rows["Arch.use_first_short_conv"] == "warned"
    assert rows["Global.feature_normalize"] == "refused" and rows["Arch.layer_scale_init_value"] == "refused"
    assert rows["Optimizer.lr.name"] == "implemented"
    report = check_config(path, ["Global.device=cpu"])
    assert [k for k, _ in report.refused] == ["Global.feature_normalize", "Arch.layer_scale_init_value"]
    assert "Closest valid key" in report.refused[0][1]
    assert report.refused[1][1].startswith("1e-05 sets ConvNeXt's layer scale")


def test_amp_on_cpu_and_missing_gpu_are_warned_not_refused(tmp_path):
    cfg = yaml.safe_load(open(PPCLS_CONFIGS[0]))
    cfg["AMP"]["use_amp"] = True
    report = check_config(write(tmp_path, cfg), ["Global.device=cpu"],
                          environment_notes=environment_notes)
    assert report.ok
    assert ("AMP.use_amp", "warned") in [(k, s) for k, s, _ in report.rows]


def test_older_top_level_layout_is_translated(tmp_path):
    legacy = {
        "mode": "train", "ARCHITECTURE": {"name": "tiny_cnn", "params": {"width": 0.5}}, "classes_num": 7,
        "pretrained_model": None, "model_save_dir": "./out/", "total_images": 100, "save_interval": 2,
        "validate": True, "valid_interval": 3, "epochs": 4, "topk": 5, "image_shape": [3, 32, 32],
        "LEARNING_RATE": {"function": "Cosine", "params": {"lr": 0.05}},
        "OPTIMIZER": {"function": "Momentum", "params": {"momentum": 0.8},
                      "regularizer": {"function": "L2", "factor": 1e-5}},
        "TRAIN": {"batch_size": 8, "num_workers": 0, "file_list": "t.txt", "data_dir": "d/", "shuffle_seed": 0,
                  "transforms": [{"DecodeImage": {"to_rgb": True}}, {"NormalizeImage": {"order": ""}},
                                 {"ToCHWImage": None}]},
        "VALID": {"batch_size": 4, "num_workers": 0, "file_list": "v.txt", "data_dir": "d/",
                  "transforms": [{"DecodeImage": None}, {"ToCHWImage": None}]},
    }
    cfg = load_config(write(tmp_path, legacy), ["Arch.width=0.25"])  # overrides address the new layout
    assert cfg["Arch"] == {"name": "tiny_cnn", "width": 0.25, "num_classes": 7}
    assert cfg["Global"]["output_dir"] == "./out/" and cfg["Global"]["eval_interval"] == 3
    assert cfg["Optimizer"]["lr"] == {"name": "Cosine", "learning_rate": 0.05}
    assert cfg["Optimizer"]["regularizer"] == {"name": "L2", "coeff": 1e-5}
    assert cfg["DataLoader"]["Train"]["dataset"]["cls_label_path"] == "t.txt"
    assert cfg["DataLoader"]["Eval"]["sampler"]["batch_size"] == 4
    assert cfg["Metric"]["Eval"] == [{"TopkAcc": {"topk": [1, 5]}}]


def _eval_crop(cfg):
    """The ``CropImage`` size of ``cfg``'s Eval pipeline (PaddleClas's layout)."""
    return next(op for op in cfg["DataLoader"]["Eval"]["dataset"]["transform_ops"] if "CropImage" in op)["CropImage"]


@pytest.mark.parametrize("edit, refused", [
    (lambda cfg: cfg["Global"].update(image_shape=[3, 256, 256]), "Global.image_shape"),  # Eval makes 224
    (lambda cfg: cfg["DataLoader"]["Train"]["sampler"].update(batch_size=0), "DataLoader.Train.sampler.batch_size"),
    (lambda cfg: cfg["Global"].update(start_eval_epoch=-1), "Global.start_eval_epoch"),
    (lambda cfg: cfg["Global"].update(start_eval_epoch=3), None),
    # a train crop of another size than the eval one: PaddleClas's train/test resolution, not refused
    (lambda cfg: next(op for op in cfg["DataLoader"]["Train"]["dataset"]["transform_ops"]
                      if "RandCropImage" in op)["RandCropImage"].update(size=192), None),
    (lambda cfg: _eval_crop(cfg).update(size=[224, 192]), "Global.image_shape"),  # [w, h]: 192 high
    (lambda cfg: cfg["Arch"].update(input_image_channel=4), "Global.image_shape"),  # 4 channels: [4, H, W]
    (lambda cfg: cfg["Arch"].update(input_image_channel=4, data_format="NHWC") or cfg["Global"].update(
        image_shape=[4, 224, 224]), None),
    (lambda cfg: cfg["Arch"].update(input_image_channel=1), "Arch.input_image_channel"),
])
def test_check_refuses_exactly_what_load_config_refuses(tmp_path, edit, refused):
    """--check runs training's checks, the value checks included (a batch size of 0 was "would train")."""
    cfg = yaml.safe_load(open(os.path.join(ROOT, "configs", "ppcls_oct_mobilenet.yaml")))
    edit(cfg)
    path = write(tmp_path, cfg)
    report = check_config(path)
    assert [k for k, _ in report.refused] == ([refused] if refused else [])
    if refused:
        with pytest.raises(ConfigError, match=refused.replace(".", r"\.")):
            load_config(path)
    else:
        load_config(path)
