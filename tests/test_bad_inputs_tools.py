"""Bad input to the detection, deployment and parity tools (issue 21): every case exits 2 with
exactly one ``error:`` line naming the problem, no traceback, within a time bound, and leaves
every earlier output exactly as it was (hashed before and after).

The tools run in-process (``main(argv)``) where the exit status is all that matters; the
detection pipeline also runs as a subprocess, to prove it stops at once instead of hanging.
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import paddle
import pytest
import yaml
from PIL import Image

import paddle_conv as pc
from paddle_conv.config import load_config
from paddle_conv.deploy.classify import eval_transform, load_image
from paddle_conv.deploy.inference import available_device
from tools import eval_det, parity_report, reparameterize, train_det
from tools import export as export_tool
from tools import infer as infer_tool

ROOT = Path(__file__).resolve().parents[1]
DET_CONFIG = ROOT / "configs" / "ssd_kd_shapes.yaml"
DIGITS = ROOT / "configs" / "digits_quick.yaml"
SHAPES = ("rectangle", "ellipse", "triangle")


def snapshot(root):
    """``{relative path: sha256}`` of every file under ``root`` (folders that are files included)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def run(main, argv, capsys):
    """``(exit status, stdout, stderr, seconds)`` of a tool's ``main(argv)``."""
    capsys.readouterr()
    start = time.monotonic()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err, time.monotonic() - start


def assert_refused(result, *patterns, limit=30.0):
    """Exit 2, one ``error:`` line holding every pattern, no traceback, within ``limit`` seconds."""
    code, _, err, seconds = result
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert len(errors) == 1, err
    assert "Traceback" not in err, err
    for pattern in patterns:
        assert pattern in errors[0], errors[0]
    assert seconds < limit, f"took {seconds:.1f} s"
    return errors[0]


# ------------------------------------------------------------------------------------ VOC data
def voc_object(name="rectangle", box=(5, 5, 40, 40), difficult="0"):
    x1, y1, x2, y2 = box
    return (f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{x1}</xmin>"
            f"<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>")


def voc_xml(objects, size="<size><width>64</width><height>64</height><depth>3</depth></size>"):
    return f"<annotation>{size}{''.join(objects)}</annotation>"


def write_voc(root, count=8, bad=None, classes=SHAPES):
    """A VOC-format Shapes-like directory of ``count`` 64x64 images, one object of ``classes``
    each; ``bad`` replaces the XML text of image ``000003``."""
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    ids = [f"{i:06d}" for i in range(count)]
    for i, image_id in enumerate(ids):
        pixels = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
        x1, y1 = 4 + 3 * i, 6 + 2 * i
        pixels[y1:y1 + 24, x1:x1 + 24] = 230
        Image.fromarray(pixels).save(root / "JPEGImages" / f"{image_id}.jpg")
        xml = voc_xml([voc_object(classes[i % len(classes)], (x1 + 1, y1 + 1, x1 + 24, y1 + 24))])
        (root / "Annotations" / f"{image_id}.xml").write_text(bad if bad is not None and i == 3 else xml)
    (root / "ImageSets" / "Main" / "trainval.txt").write_text("\n".join(ids) + "\n")
    return root


def tiny_det(out, voc=None, **extra):
    """``-o`` arguments of a seconds-long configs/ssd_kd_shapes.yaml run (on the VOC directory ``voc``)."""
    overrides = {
        "Global.output_dir": out, "Global.use_visualdl": "false", "Global.print_batch_step": 1,
        "Teacher.epochs": 1, "Student.epochs": 1, "Global.student_baseline": "false",
        "Teacher.Arch.extra_channels": "[16]", "Student.Arch.extra_channels": "[16]",
        "DataLoader.Train.batch_size": 4, "DataLoader.Eval.batch_size": 8,
        "DataLoader.Train.dataset.num_images": 8, "DataLoader.Eval.dataset.num_images": 4,
    }
    if voc is not None:
        del overrides["DataLoader.Train.dataset.num_images"], overrides["DataLoader.Eval.dataset.num_images"]
        dataset = json.dumps({"name": "VOCDetection", "root": str(voc), "image_set": "trainval", "image_size": 64,
                              "classes": list(SHAPES)})
        overrides["DataLoader.Train.dataset"] = dataset
        overrides["DataLoader.Eval.dataset"] = dataset
    overrides.update(extra)
    return [x for k, v in overrides.items() for x in ("-o", f"{k}={v}")]


BAD_RECORDS = {
    "inverted box": (voc_xml([voc_object(box=(40, 5, 10, 40))]), "inverted or empty"),
    "zero-area box": (voc_xml([voc_object(box=(20, 5, 20, 40))]), "inverted or empty"),
    "NaN coordinate": (voc_xml([voc_object(box=("nan", 5, 20, 40))]), "not a finite number"),
    "infinite coordinate": (voc_xml([voc_object(box=(5, 5, "inf", 40))]), "not a finite number"),
    "box far outside": (voc_xml([voc_object(box=(5, 5, 600, 40))]), "outside the 64 x 64 image"),
    "missing size": (voc_xml([voc_object()], size=""), "<size> is missing"),
    "width 0": (voc_xml([voc_object()], size="<size><width>0</width><height>64</height></size>"), "from 1 to 65535"),
    "missing name": (voc_xml([voc_object().replace("<name>rectangle</name>", "")]), "<name> is missing"),
    "missing bndbox": (voc_xml(["<object><name>rectangle</name></object>"]), "<bndbox> is missing"),
    "non-numeric coordinate": (voc_xml([voc_object(box=(5, "five", 20, 40))]), "'five', not a number"),
    "difficult=yes": (voc_xml([voc_object(difficult="yes")]), "<difficult> is 'yes'"),
    "unknown class": (voc_xml([voc_object(name="unicorn")]), "class 'unicorn' is not in classes"),
    "malformed XML": ("<annotation><size>", "cannot read VOC annotation"),
}


@pytest.mark.parametrize("record", list(BAD_RECORDS))
def test_bad_voc_record_stops_training_at_start_naming_file_and_object(record, tmp_path, capsys):
    xml, problem = BAD_RECORDS[record]
    voc = write_voc(tmp_path / "voc", bad=xml)
    before = snapshot(tmp_path)
    result = run(train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", voc), capsys)
    line = assert_refused(result, "000003.xml", problem, limit=20)
    assert "object 0" in line or record in ("missing size", "width 0", "malformed XML")
    assert snapshot(tmp_path) == before and not (tmp_path / "run").exists()


def test_missing_voc_image_names_it_and_the_list_line(tmp_path, capsys):
    voc = write_voc(tmp_path / "voc")
    (voc / "JPEGImages" / "000005.jpg").unlink()
    before = snapshot(tmp_path)
    result = run(train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", voc), capsys)
    assert_refused(result, "000005.jpg", "line 6", limit=20)
    assert snapshot(tmp_path) == before


def test_fewer_images_than_batch_size_is_a_clean_error(tmp_path, capsys):
    voc = write_voc(tmp_path / "voc", count=3)
    result = run(train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", voc), capsys)
    assert_refused(result, "DataLoader.Train.batch_size=4", "3 images", limit=20)


def test_eval_of_a_3_class_detector_on_20_class_data_is_refused(tmp_path, capsys):
    voc = write_voc(tmp_path / "voc", classes=("dog", "cat", "person"))
    dataset = json.dumps({"name": "VOCDetection", "root": str(voc), "image_size": 64})  # the 20 VOC classes
    argv = ["-c", DET_CONFIG, "--stage", "teacher"] + tiny_det(tmp_path / "run", **{"DataLoader.Eval.dataset": dataset})
    assert_refused(run(eval_det.main, argv, capsys), "20 classes", "Teacher.Arch.num_classes=4", "num_classes=21")


def test_teacher_epochs_0_is_refused_naming_the_key(tmp_path, capsys):
    result = run(train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", **{"Teacher.epochs": 0}), capsys)
    assert_refused(result, "Teacher.epochs", ">= 1")


def test_output_dir_under_a_file_is_refused_before_training(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    before = snapshot(tmp_path)
    result = run(train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp_path / "taken" / "run"), capsys)
    code, out, _, _ = result
    assert_refused(result, "Global.output_dir", "is a file")
    assert "epoch" not in out and snapshot(tmp_path) == before


def test_student_pretrained_weights_of_another_model_are_refused_before_the_teacher_trains(tmp_path, capsys):
    paddle.save(pc.create_model("tiny_cnn", num_classes=10, width=0.25).state_dict(), str(tmp_path / "cls.pdparams"))
    argv = ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", **{"Student.pretrained_model": tmp_path / "cls"})
    code, out, _, _ = result = run(train_det.main, argv, capsys)
    assert_refused(result, "Student.pretrained_model", "share no parameter")
    assert "epoch" not in out


def test_voc_duplicate_classes_are_refused(tmp_path, capsys):
    voc = write_voc(tmp_path / "voc")
    dataset = json.dumps({"name": "VOCDetection", "root": str(voc), "image_size": 64,
                          "classes": ["rectangle", "rectangle", "triangle"]})
    argv = ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", **{"DataLoader.Train.dataset": dataset})
    assert_refused(run(train_det.main, argv, capsys), "distinct")


def test_missing_detection_checkpoint_advice_names_what_the_tool_reads(tmp_path, capsys):
    argv = ["-c", DET_CONFIG, "--stage", "student_kd"] + tiny_det(tmp_path / "run")
    line = assert_refused(run(eval_det.main, argv, capsys), "student_kd", "tools/train_det.py", "--weights")
    assert "Global.checkpoints" not in line and "Global.pretrained_model" not in line
    line = assert_refused(run(eval_det.main, argv + ["--weights", tmp_path / "nothing"], capsys), "--weights")
    assert "Global.checkpoints" not in line


def test_missing_reparameterize_checkpoint_advice_names_weights(tmp_path, capsys):
    argv = ["-c", ROOT / "configs" / "refconv_finetune.yaml", "--output", tmp_path / "plain",
            "-o", f"Global.output_dir={tmp_path}"]
    line = assert_refused(run(reparameterize.main, argv, capsys), "best_model", "--weights")
    assert "Global.pretrained_model" not in line
    line = assert_refused(run(reparameterize.main, argv + ["--weights", tmp_path / "x"], capsys), "--weights")
    assert "Global.pretrained_model" not in line
    assert not list(tmp_path.iterdir())


def test_kd_pipeline_with_a_bad_record_fails_fast_then_trains_when_fixed(tmp_path, capsys):
    """The whole pipeline as a user runs it: it must stop (not hang) within 30 s, then train once fixed."""
    voc = write_voc(tmp_path / "voc", bad=BAD_RECORDS["NaN coordinate"][0])
    argv = [ROOT / "tools" / "train_det.py", "-c", DET_CONFIG] + tiny_det(tmp_path / "run", voc)
    assert_refused(_run_train_det(argv), "000003.xml", "xmin")
    write_voc(tmp_path / "voc")  # the record fixed
    code, out, err, _ = run(train_det.main, argv[1:], capsys)
    assert code == 0, err
    assert "teacher" in out and "student_kd" in out
    assert (tmp_path / "run" / "student_kd" / "best.pdparams").is_file()


def _run_train_det(args, timeout=30):
    """tools/train_det.py as a user runs it: a subprocess that must end (not hang) within ``timeout`` s."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def test_truncated_voc_image_fails_in_seconds_without_hanging(tmp_path):
    voc = write_voc(tmp_path / "voc")
    path = voc / "JPEGImages" / "000002.jpg"
    path.write_bytes(path.read_bytes()[:200])
    before = snapshot(voc)
    result = _run_train_det([ROOT / "tools" / "train_det.py", "-c", DET_CONFIG] + tiny_det(tmp_path / "run", voc))
    assert_refused(result, "000002.jpg")
    assert snapshot(voc) == before


def test_shapes_sample_error_fails_in_seconds_without_hanging(tmp_path):
    """A data error raised while the loader draws a Shapes sample reaches the tool (it once hung)."""
    script = tmp_path / "run_with_failing_sample.py"
    script.write_text(
        "import sys\n"
        "from paddle_conv.cli import run_cli\n"
        "from paddle_conv.data import Shapes\n"
        "from paddle_conv.errors import DataError\n"
        "from tools import train_det\n"
        "def draw(self, index):\n"
        "    raise DataError(f'Shapes sample {index} cannot be drawn')\n"
        "Shapes.draw = draw\n"
        "sys.exit(run_cli(train_det.main, sys.argv[1:]))\n"
    )
    result = _run_train_det([script, "-c", DET_CONFIG] + tiny_det(tmp_path / "run"))
    assert_refused(result, "cannot be drawn")


# ------------------------------------------------------------------------- detection resume state
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """The output folder of a finished tiny detection run (teacher and student_kd)."""
    out = tmp_path_factory.mktemp("det") / "run"
    assert train_det.main(["-c", str(DET_CONFIG)] + [str(a) for a in tiny_det(out)]) == 0
    return out


def _damage_latest_json(out, text):
    (out / "student_kd" / "latest.json").write_text(text)


DAMAGED_STATE = {
    "latest.json is '{'": (lambda out: _damage_latest_json(out, "{"), "latest.json"),
    "latest.json of wrong types": (lambda out: _damage_latest_json(out, json.dumps({"epoch": "1", "best": 3})),
                                   "epoch, step, best"),
    "garbage .commit": (lambda out: (out / "student_kd" / "latest.commit").write_bytes(b"\x00\xff garbage"),
                        "latest.commit is damaged"),
    ".pdopt of another stage": (lambda out: shutil.copy(out / "teacher" / "latest.pdopt",
                                                        out / "student_kd" / "latest.pdopt"), "not this stage's"),
    "stage folder that is a file": (lambda out: (shutil.rmtree(out / "student_kd"),
                                                 (out / "student_kd").write_text("x")), "is a file"),
}


@pytest.mark.parametrize("damage", list(DAMAGED_STATE))
def test_damaged_resume_state_is_refused_before_any_epoch(damage, finished_run, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    breaker, problem = DAMAGED_STATE[damage]
    breaker(out)
    before = snapshot(out)
    argv = ["-c", DET_CONFIG] + tiny_det(out, **{"Global.resume": "true", "Teacher.epochs": 2})
    code, stdout, err, seconds = result = run(train_det.main, argv, capsys)
    assert_refused(result, problem, limit=20)
    assert "epoch" not in stdout, "a stage trained before the damage was found"
    assert snapshot(out) == before


# ------------------------------------------------------------------------------------- export
def _tiny_config(tmp_path, **global_keys):
    cfg = yaml.safe_load(DIGITS.read_text())
    cfg["Arch"] = {"name": "tiny_cnn", "num_classes": 10, "width": 0.25}
    cfg["Global"].update({"save_inference_dir": str(tmp_path / "inference"), **global_keys})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _save_weights(path, edit=None):
    paddle.seed(0)
    model = pc.create_model("tiny_cnn", num_classes=10, width=0.25)
    state = model.state_dict()
    if edit:
        edit(state)
    paddle.save(state, str(path))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny classifier's config, weights and inference folder written by tools/export.py."""
    root = tmp_path_factory.mktemp("export")
    _save_weights(root / "trained.pdparams")
    config = _tiny_config(root, pretrained_model=str(root / "trained"))
    assert export_tool.main(["-c", str(config)]) == 0
    return root, config


def _copy_export(exported, tmp_path):
    root, _ = exported
    shutil.copytree(root, tmp_path, dirs_exist_ok=True)
    config = _tiny_config(tmp_path, pretrained_model=str(tmp_path / "trained"))
    return config, tmp_path / "inference"


def test_refused_opset_leaves_the_previous_export_untouched(exported, tmp_path, capsys):
    config, inference = _copy_export(exported, tmp_path)
    before = snapshot(tmp_path)
    assert_refused(run(export_tool.main, ["-c", config, "--onnx", "--opset", 99], capsys), "opset 99", "--opset")
    assert snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == sorted(["inference", "trained.pdparams", "tiny.yaml"])  # no temp left


@pytest.mark.parametrize("damage, problem", [
    ("nan", "NaN or infinite"),
    ("negative variance", "negative running variance"),
])
def test_export_refuses_nan_weights_and_negative_bn_variance(damage, problem, exported, tmp_path, capsys):
    config, _ = _copy_export(exported, tmp_path)

    def edit(state):
        name = next(k for k in state if k.endswith("_variance" if damage != "nan" else "weight"))
        value = state[name].numpy()
        value.flat[0] = -1.0 if damage != "nan" else math.nan
        state[name] = paddle.to_tensor(value)

    _save_weights(tmp_path / "trained.pdparams", edit)
    before = snapshot(tmp_path)
    assert_refused(run(export_tool.main, ["-c", config], capsys), problem)
    assert snapshot(tmp_path) == before


def test_export_into_a_file_is_refused(exported, tmp_path, capsys):
    config, inference = _copy_export(exported, tmp_path)
    shutil.rmtree(inference)
    inference.write_text("not a folder")
    before = snapshot(tmp_path)
    assert_refused(run(export_tool.main, ["-c", config], capsys), "is a file", "Global.save_inference_dir")
    assert snapshot(tmp_path) == before


def test_export_replaces_the_folder_as_a_whole(exported, tmp_path, capsys):
    config, inference = _copy_export(exported, tmp_path)
    (inference / "inference.onnx").write_bytes(b"an ONNX model of an older export")
    code, _, err, _ = run(export_tool.main, ["-c", config], capsys)
    assert code == 0, err
    assert sorted(os.listdir(inference)) == ["inference.json", "inference.pdiparams", "inference_config.json"]
    assert sorted(os.listdir(tmp_path)) == sorted(["inference", "trained.pdparams", "tiny.yaml"])


def test_export_into_a_folder_holding_other_files_is_refused(exported, tmp_path, capsys):
    config, inference = _copy_export(exported, tmp_path)
    (inference / "notes.txt").write_text("mine")
    before = snapshot(tmp_path)
    assert_refused(run(export_tool.main, ["-c", config], capsys), "notes.txt", "A_FOLDER_OF_ITS_OWN")
    assert snapshot(tmp_path) == before


# -------------------------------------------------------------------------------------- infer
def _images(folder, count=3):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(3)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (20, 12, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


@pytest.mark.parametrize("file, content", [
    ("inference.json", "half"), ("inference.json", b""), ("inference.pdiparams", "half"),
    ("inference.pdiparams", b""), ("inference.pdiparams", b"\x00foreign" * 64),
])
def test_infer_refuses_a_damaged_export_in_one_line(file, content, exported, tmp_path, capsys):
    config, inference = _copy_export(exported, tmp_path)
    path = inference / file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2] if content == "half" else content)
    before = snapshot(tmp_path)
    argv = ["-c", config, "--input", _images(tmp_path / "images")]
    assert_refused(run(infer_tool.main, argv, capsys), "cannot load the exported model", "export it again")
    snapshot_after = snapshot(tmp_path)
    assert {k: v for k, v in snapshot_after.items() if not k.startswith("images")} == \
        {k: v for k, v in before.items() if not k.startswith("images")}


def test_infer_refuses_a_detector_export_under_a_classification_config(exported, tmp_path, capsys):
    config, inference = _copy_export(exported, tmp_path)
    meta = json.loads((inference / "inference_config.json").read_text())
    meta.update(task="detection", Arch={"name": "ssd_lite"})
    (inference / "inference_config.json").write_text(json.dumps(meta))
    argv = ["-c", config, "--input", _images(tmp_path / "images")]
    assert_refused(run(infer_tool.main, argv, capsys), "cannot show detections", "tools/eval_det.py")


@pytest.mark.parametrize("option, problem", [
    (["--threads", "10000"], "--threads 10000"), (["--threads", "-1"], "--threads -1"),
    (["--topk", "0"], "--topk 0"), (["--topk", "-1"], "--topk -1"), (["--topk", "11"], "only 10 classes"),
])
def test_infer_options_are_range_checked(option, problem, exported, tmp_path, capsys):
    root, config = exported
    argv = ["-c", config, "--input", _images(tmp_path / "images")] + option
    code, out, err, _ = result = run(infer_tool.main, argv, capsys)
    assert_refused(result, problem, limit=20)
    assert out == ""


@pytest.mark.parametrize("names, problem", [
    ("a\nb\nc\n", "has 3 names but the model has 10 classes"),
    (b"\x89PNG\x00\x00binary", "not a UTF-8 text file"),
])
def test_infer_checks_class_names(names, problem, exported, tmp_path, capsys):
    root, config = exported
    path = tmp_path / "names.txt"
    path.write_bytes(names.encode() if isinstance(names, str) else names)
    argv = ["-c", config, "--input", _images(tmp_path / "images"), "--class_names", path]
    assert_refused(run(infer_tool.main, argv, capsys), problem)


@pytest.mark.skipif(available_device() == "gpu", reason="this Paddle build has a GPU: --device gpu is honoured")
def test_infer_refuses_gpu_on_a_cpu_build(exported, tmp_path, capsys):
    root, config = exported
    argv = ["-c", config, "--input", _images(tmp_path / "images"), "--device", "gpu"]
    assert_refused(run(infer_tool.main, argv, capsys), "device gpu", "--device cpu")


def test_infer_catches_decompression_bombs(exported, tmp_path, capsys, monkeypatch):
    root, config = exported
    images = _images(tmp_path / "images")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # 20 x 12 > 2 x 50: a "bomb" at this limit
    assert_refused(run(infer_tool.main, ["-c", config, "--input", images], capsys), "DecompressionBombError")


def test_infer_streams_and_stops_or_skips_at_a_bad_image(exported, tmp_path, capsys):
    root, config = exported
    images = _images(tmp_path / "images")
    (images / "3.png").write_bytes(b"truncated")  # sorted last
    argv = ["-c", config, "--input", images, "--json"]
    code, out, err, _ = result = run(infer_tool.main, argv, capsys)
    assert_refused(result, "3.png", "cannot read the image")
    assert [json.loads(line)["image"] for line in out.splitlines()] == [str(images / f"{i}.png") for i in range(3)]
    code, out, err, _ = run(infer_tool.main, argv + ["--on-error", "skip"], capsys)
    assert code == 0 and len(out.splitlines()) == 3
    assert "warning: skipped" in err and "3.png" in err and "error:" not in err


def test_infer_applies_exif_orientation(exported, tmp_path):
    _, config = exported
    pixels = np.zeros((10, 30, 3), dtype=np.uint8)
    pixels[:, :10] = 255  # a white left third: turned upright, a white band at the top
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(pixels).save(tmp_path / "tagged.png", exif=exif)
    Image.fromarray(pixels).save(tmp_path / "untagged.png")
    Image.fromarray(pixels).transpose(Image.Transpose.ROTATE_270).save(tmp_path / "upright.png")
    transform = eval_transform(load_config(str(config)))
    tagged = load_image(tmp_path / "tagged.png", transform)
    assert np.array_equal(tagged, load_image(tmp_path / "upright.png", transform))
    assert not np.array_equal(tagged, load_image(tmp_path / "untagged.png", transform))


# ------------------------------------------------------------------------------- parity report
@pytest.mark.parametrize("argv, problem", [
    (["--models", "tiny_cnn", "--batch", "0"], "--batch 0"),
    (["--models", "no_such_model*"], "matches no registered model"),
])
def test_parity_report_bad_options(argv, problem, capsys):
    assert_refused(run(parity_report.main, argv, capsys), problem, limit=10)


def test_parity_report_names_models_without_reference(capsys, monkeypatch):
    # every registered model has a reference today: a model registered without one is named, not compared
    monkeypatch.setattr(parity_report, "list_references", lambda pattern: [])
    code, out, err, _ = run(parity_report.main, ["--models", "tiny_cnn"], capsys)
    assert code == 0 and "no torch reference (not compared): tiny_cnn" in out


def test_parity_report_cct_at_its_defaults_passes_and_a_real_mismatch_fails(capsys, monkeypatch):
    code, out, err, _ = run(parity_report.main, ["--models", "cct_2_3x2_32"], capsys)
    assert code == 0, out + err
    assert "cct_2_3x2_32 [2, 3, 32, 32]" in out and ": ok" in out
    twin = parity_report.parity.paddle_twin

    def off_by_a_little(torch_model, paddle_model, model=None):
        paddle_model = twin(torch_model, paddle_model, model)
        weight = paddle_model.classifier.fc.weight
        weight.set_value(weight.numpy() * 1.01)
        return paddle_model

    monkeypatch.setattr(parity_report.parity, "paddle_twin", off_by_a_little)
    code, out, err, _ = run(parity_report.main, ["--models", "cct_2_3x2_32", "--size", "32"], capsys)
    assert code == 1 and "FAIL" in out and "parity FAILED: cct_2_3x2_32" in out
