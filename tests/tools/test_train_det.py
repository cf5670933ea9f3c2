"""tools/train_det.py and tools/eval_det.py end to end on a tiny Shapes run (seconds)."""

import json
import os

import pytest

from tools import eval_det, train_det

CONFIG = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "ssd_kd_shapes.yaml")


def tiny(out):
    return [
        f"Global.output_dir={out}",
        "Teacher.epochs=1",
        "Student.epochs=1",
        "Teacher.Arch.input_size=64",
        "Student.Arch.input_size=64",
        "Teacher.Arch.extra_channels=[16]",
        "Student.Arch.extra_channels=[16]",
        "DataLoader.Train.dataset.num_images=16",
        "DataLoader.Train.dataset.image_size=64",
        "DataLoader.Train.batch_size=8",
        "DataLoader.Eval.dataset.num_images=8",
        "DataLoader.Eval.dataset.image_size=64",
        "Global.print_batch_step=1",
    ]


def test_train_eval_resume(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["-c", CONFIG] + [x for o in tiny(out) for x in ("-o", o)]
    assert train_det.main(args) == 0
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert set(summary) == {"teacher", "student_kd", "student"}
    for stage in summary:
        for f in ("best.pdparams", "latest.pdparams", "latest.pdopt", "latest.json"):
            assert os.path.exists(os.path.join(out, stage, f)), (stage, f)
        assert os.listdir(os.path.join(out, stage, "vdl"))
        assert 0.0 <= summary[stage]["best_mAP"] <= 1.0
    student_latest = os.path.getmtime(os.path.join(out, "student", "latest.pdparams"))
    capsys.readouterr()
    # resume with one more teacher epoch: the teacher continues at epoch 2, finished stages are skipped
    assert train_det.main(args + ["-o", "Global.resume=true", "-o", "Teacher.epochs=2"]) == 0
    text = capsys.readouterr().out
    assert "[teacher] resumed" in text and "[teacher] epoch 2/2" in text and "[teacher] epoch 1/2" not in text
    assert "[student] epoch" not in text and "[student_kd] epoch" not in text
    assert os.path.getmtime(os.path.join(out, "student", "latest.pdparams")) == student_latest
    assert json.load(open(os.path.join(out, "teacher", "latest.json")))["epoch"] == 2
    assert eval_det.main(["-c", CONFIG, "--stage", "teacher"] + [x for o in tiny(out) for x in ("-o", o)]) == 0
    text = capsys.readouterr().out
    assert "mAP" in text and "11-point" in text and "triangle" in text


@pytest.mark.parametrize("override, message", [
    ("Loss.weights.sfot=1.0", "unknown key 'sfot'"),
    ("Student.Arch.input_size=96", "different priors"),
    ("DataLoader.Train.dataset.name=Digits", "not a detection data set"),
])
def test_bad_configs_exit_2(tmp_path, capsys, override, message):
    assert train_det.main(["-c", CONFIG, "-o", f"Global.output_dir={tmp_path}", "-o", override]) == 2
    assert message in capsys.readouterr().err
