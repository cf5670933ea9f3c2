"""configs/ssd300_kd_voc.yaml: the three stages (teacher, KD student, plain student) on a tiny
VOC-format Shapes directory written by tools/make_shapes_voc.py. SSD300 runs at 300x300 only, so
the run keeps the config's structure (SSD300-VGG16 teacher, thinner SSD300 student, the seed's
loss arguments and weights) with thin widths, two images and one step per stage (seconds on a CPU)."""

import json
import os

import numpy as np

from paddle_conv.cli import run_cli
from paddle_conv.data import VOCDetection
from paddle_conv.data.shapes import Shapes, write_voc
from paddle_conv.io import safe_paddle_load
from tools import make_shapes_voc, train_det

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "ssd300_kd_voc.yaml")


def test_write_voc_round_trips_the_boxes(tmp_path):
    ids = write_voc(tmp_path / "voc", {"train": 3, "val": 2}, image_size=48, seed=4, max_objects=3)
    assert ids == {"train": ["000001", "000002", "000003"], "val": ["000004", "000005"]}
    assert sorted(os.listdir(tmp_path)) == ["voc"]  # no temporary directory left
    main = tmp_path / "voc" / "ImageSets" / "Main"
    assert sorted(os.listdir(main)) == ["train.txt", "trainval.txt", "val.txt"]
    assert (main / "trainval.txt").read_text().split() == ids["train"] + ids["val"]
    for split, seed in (("train", 4), ("val", 5)):
        voc = VOCDetection(str(tmp_path / "voc"), split, image_size=48, classes=Shapes.CLASSES)
        shapes = Shapes(num_images=len(voc), image_size=48, seed=seed, max_objects=3)
        for i in range(len(voc)):
            target, difficult, size = voc.annotation(i)
            np.testing.assert_array_equal(target, shapes.draw(i)[1])
            assert size == (48, 48) and not difficult.any()


def test_make_shapes_voc_refuses_an_existing_directory(tmp_path, capsys):
    (tmp_path / "voc").mkdir()
    (tmp_path / "voc" / "mine.txt").write_text("keep")
    assert run_cli(make_shapes_voc.main, ["--out", str(tmp_path / "voc"), "--train", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "exists" in err[0]
    assert os.listdir(tmp_path / "voc") == ["mine.txt"]
    assert run_cli(make_shapes_voc.main, ["--out", str(tmp_path / "new"), "--train", "0"]) == 2
    assert not (tmp_path / "new").exists()


def test_three_stages_on_a_voc_directory(tmp_path, capsys):
    root, out = tmp_path / "shapes_voc", tmp_path / "run"
    assert run_cli(make_shapes_voc.main, ["--out", str(root), "--train", "2", "--val", "2", "--test", "1",
                                 "--image-size", "64"]) == 0
    overrides = [
        f"Global.output_dir={out}", "Global.use_visualdl=false", "Global.print_batch_step=1",
        "Teacher.epochs=1", "Student.epochs=1", "Teacher.Arch.width=0.0625", "Student.Arch.width=0.03125",
        f"DataLoader.Train.dataset.root={root}", f"DataLoader.Eval.dataset.root={root}",
        "DataLoader.Train.batch_size=2", "DataLoader.Eval.batch_size=2",
    ]
    assert train_det.main(["-c", CONFIG] + [x for o in overrides for x in ("-o", o)]) == 0
    text = capsys.readouterr().out
    assert "soft" in text and "l2" in text  # the KD stage logged the seed's four terms
    summary = json.load(open(out / "summary.json"))
    assert set(summary) == {"teacher", "student_kd", "student"}
    for stage in summary:
        weights = safe_paddle_load(str(out / stage / "latest.pdparams"))
        assert all(np.isfinite(v.numpy()).all() for v in weights.values()), stage  # no NaN hidden by ReLUs
        assert 0.0 <= summary[stage]["best_mAP"] <= 1.0
