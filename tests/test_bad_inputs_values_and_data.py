"""Bad input, round three (issue 26): config numbers that are NaN or infinite, multi-scale sizes
that would allocate gigabytes, VOC ``<size>`` that is not its image's size. Each case exits 2 with
exactly one ``error:`` line naming the key or the file, no traceback, within a time bound, and
leaves every user file as it was (hashed before and after) with no run folder made.

The Keras ``.weights.h5`` cases are in tests/weights_bridge/test_safe_hdf5.py, the image formats
(16-bit PNG and others against OpenCV) in tests/data/test_paddleclas_ops.py.
"""

import json

import numpy as np
import pytest
from PIL import Image

from paddle_conv.cli import run_cli
from paddle_conv.config import DET_SCHEMA, load_config
from paddle_conv.config.check import check_config
from paddle_conv.data.voc import VOCDetection
from paddle_conv.errors import DataError
from tests.test_bad_inputs_tools import (
    DET_CONFIG,
    DIGITS,
    assert_refused,
    run,
    snapshot,
    tiny_det,
    voc_object,
    voc_xml,
    write_voc,
)
from tools import train as train_tool
from tools import train_det


def train(argv):
    """tools/train.py as its command line runs it (exit status 2 and one ``error:`` line on bad input)."""
    return run_cli(train_tool.main, argv)


# ------------------------------------------------------------------------- NaN and infinity
#: ``-o`` override -> the key the error must name: one float key of each kind of section.
NON_FINITE = {
    "DataLoader.Train.dataset.batch_transform_ops=[{MixupOperator: {alpha: .nan}}]":
        "DataLoader.Train.dataset.batch_transform_ops.0.MixupOperator.alpha: must be a finite number, got nan",
    "Optimizer.lr.learning_rate=.inf": "Optimizer.lr.learning_rate: must be a finite number, got inf",
    "Loss.Train.0.CELoss.epsilon=.nan": "Loss.Train.0.CELoss.epsilon: must be a finite number, got nan",
    "Arch.alpha=-.inf": "Arch.alpha: must be a finite number, got -inf",
    "DataLoader.Train.dataset.transform_ops.1.Normalize.mean=[0.5, .nan, 0.5]":
        "DataLoader.Train.dataset.transform_ops.1.Normalize.mean.1: must be a finite number, got nan",
    "Loss.Train.0.CELoss.weight=.inf": "Loss.Train.0.CELoss.weight: must be a finite number, got inf",
}


@pytest.mark.parametrize("override", list(NON_FINITE))
def test_a_nan_or_infinite_config_number_is_refused_naming_the_key(override, tmp_path, capsys):
    before = snapshot(tmp_path)
    result = run(train, ["-c", DIGITS, "-o", f"Global.output_dir={tmp_path / 'out'}", "-o", override],
                 capsys)
    assert_refused(result, NON_FINITE[override], "NaN and infinity are never valid", limit=20)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


@pytest.mark.parametrize("override, key", [
    ("Teacher.Optimizer.lr.learning_rate=.nan", "Teacher.Optimizer.lr.learning_rate"),
    ("Loss.weights.soft=.inf", "Loss.weights.soft"),
    ("Loss.MultiBoxLoss.variance=[0.1, .nan]", "Loss.MultiBoxLoss.variance.1"),
])
def test_detection_configs_refuse_nan_and_infinity_too(override, key, tmp_path, capsys):
    result = run(train_det.main, ["-c", DET_CONFIG, *tiny_det(tmp_path / "run"), "-o", override], capsys)
    assert_refused(result, f"{key}: must be a finite number", limit=20)
    assert not (tmp_path / "run").exists()


def test_check_reports_a_nan_as_refused():
    report = check_config(DIGITS, ["Arch.alpha=.nan"])
    assert ("Arch.alpha", "refused") in [(key, status) for key, status, _ in report.rows]


def test_a_yaml_alias_bomb_of_numbers_is_walked_once(tmp_path):
    """The finite check visits a container shared by YAML aliases once: 43 million ones take no time."""
    levels = ["&a0 [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]"] + [
        f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 8)]
    text = DIGITS.read_text().replace("mean: [0.5, 0.5, 0.5]", f"mean: [{', '.join(levels)}, .nan]", 1)
    (tmp_path / "bomb.yaml").write_text(text)
    with pytest.raises(Exception, match=r"Normalize\.mean\.8: must be a finite number, got nan"):
        load_config(tmp_path / "bomb.yaml")


# --------------------------------------------------------------------------------- multi-scale
@pytest.fixture
def image_list(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (40, 48, 3)).astype("uint8")).save(
            folder / f"img{i}.png")
    (folder / "list.txt").write_text("".join(f"img{i}.png {i % 2}\n" for i in range(6)))
    return folder


def _multi_scale(folder, sampler):
    dataset = {"name": "MultiScaleDataset", "image_root": str(folder), "cls_label_path": str(folder / "list.txt"),
               "transform_ops": [{"DecodeImage": {}}, {"RandCropImage": {"size": 16}}, {"NormalizeImage": {}},
                                 {"ToCHWImage": {}}]}
    return ["-o", f"DataLoader.Train.dataset={json.dumps(dataset)}",
            "-o", f"DataLoader.Train.sampler={json.dumps(dict(name='MultiScaleSampler', **sampler))}"]


@pytest.mark.parametrize("sampler, problem", [
    ({"scales": [100000], "first_bs": 2}, "DataLoader.Train.sampler.scales: every size must be at most 4096 pixels"),
    ({"scales": [[64, 64], [128, 5000]], "first_bs": 2}, "at most 4096 pixels (MAX_SCALE), got 5000"),
    ({"scales": [64], "first_bs": 10**9}, "MultiScaleSampler.first_bs: a batch of 1000000000 images of 64x64 needs"),
])
def test_multi_scale_sizes_are_bounded_and_checked_against_memory_before_the_first_batch(
        sampler, problem, image_list, tmp_path, capsys):
    before = snapshot(tmp_path)
    argv = ["-c", DIGITS, "-o", f"Global.output_dir={tmp_path / 'out'}", *_multi_scale(image_list, sampler)]
    assert_refused(run(train, argv, capsys), problem, limit=30)
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------- VOC size
SIZE_640 = "<size><width>640</width><height>640</height><depth>3</depth></size>"


@pytest.mark.parametrize("size, problem", [
    (SIZE_640, "<size> is 640 x 640 but its image"),
    ("<size><width>1e308</width><height>64</height></size>", "whole numbers of pixels from 1 to 65535"),
    ("<size><width>64.5</width><height>64</height></size>", "whole numbers of pixels from 1 to 65535"),
    ("<size><width>64</width><height>32</height></size>", "<size> is 64 x 32 but its image"),
])
def test_voc_size_that_is_not_the_images_is_refused_naming_both_sizes(size, problem, tmp_path, capsys):
    voc = write_voc(tmp_path / "voc", bad=voc_xml([voc_object(box=(5, 5, 20, 20))], size=size))
    before = snapshot(tmp_path)
    result = run(train_det.main, ["-c", DET_CONFIG, *tiny_det(tmp_path / "run", voc)], capsys)
    line = assert_refused(result, "000003.xml", problem, limit=20)
    if "but its image" in problem:
        assert "000003.jpg" in line and "is 64 x 64" in line and "size_mismatch: rescale" in line
    assert snapshot(tmp_path) == before and not (tmp_path / "run").exists()


def test_voc_size_mismatch_rescale_scales_the_boxes_from_size_to_the_image(tmp_path):
    voc = write_voc(tmp_path / "voc", bad=voc_xml([voc_object(box=(65, 129, 320, 640))], size=SIZE_640))
    with pytest.raises(DataError, match="size_mismatch"):
        VOCDetection(str(voc), classes=["rectangle", "ellipse", "triangle"], image_size=64)
    data = VOCDetection(str(voc), classes=["rectangle", "ellipse", "triangle"], image_size=64,
                        size_mismatch="rescale")
    target, _, size = data.annotation(3)
    assert size == (640.0, 640.0)
    np.testing.assert_allclose(target[0, :4], [0.1, 0.2, 0.5, 1.0])  # relative: 6.4, 12.8, 32, 64 of 64 px
    dataset = {"name": "VOCDetection", "root": str(voc), "classes": ["rectangle"], "size_mismatch": "rescale"}
    cfg = load_config(DET_CONFIG, [f"DataLoader.Train.dataset={json.dumps(dataset)}"], schema=DET_SCHEMA)
    assert cfg["DataLoader"]["Train"]["dataset"]["size_mismatch"] == "rescale"  # a documented config key
    with pytest.raises(DataError, match="size_mismatch 'resize': must be one of refuse, rescale"):
        VOCDetection(str(voc), classes=["rectangle", "ellipse", "triangle"], size_mismatch="resize")


# -------------------------------------------------------------- class counts out of any range
@pytest.mark.parametrize("value", ["0", "-5", "99999999999", "2.5"])
def test_a_class_count_out_of_range_is_refused_before_building(value, tmp_path, capsys):
    before = snapshot(tmp_path)
    result = run(train, ["-c", DIGITS, "-o", f"Global.output_dir={tmp_path / 'out'}", "-o", f"Arch.class_num={value}"],
                 capsys)
    assert_refused(result, "Arch.num_classes: expected a class count from 1 to 1,000,000", limit=20)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("override, problem", [
    ("Global.epochs=" + "9" * 5000, "is not valid YAML"),
    ("Global.x=" + "[" * 50000, "nested too deeply"),
    ("Global." + "k" * 5000 + "=1", "unknown key"),
])
def test_a_huge_override_leaves_the_problem_and_its_fix_on_the_error_line(override, problem, tmp_path, capsys):
    result = run(train, ["-c", DIGITS, "-o", f"Global.output_dir={tmp_path / 'out'}", "-o", override], capsys)
    line = assert_refused(result, problem, limit=20)
    assert len(line) < 1000 and not (tmp_path / "out").exists()
