"""Files that are not what a path promises (issue 26): a FIFO or a symbolic link to ``/dev/zero``
at every path a user gives, resume state without ``latest.json`` or nested 200,000 deep, class
maps that are binary or someone's secrets, file names that would forge an output line.

Each tool runs in-process (``run_cli(main, argv)``) under an alarm: a reader that blocks on a FIFO
fails the test after :data:`BOUND_S` seconds instead of hanging it. Every case asserts exit 2,
exactly one ``error:`` line (the last line of stderr, so no message continues past it) naming the
path and what it is, no traceback, and every user file unchanged (hashed before and after).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import paddle
import pytest
import yaml
from PIL import Image

import paddle_conv as pc
from paddle_conv.cli import printable, run_cli
from paddle_conv.data import ImageFolder, ImageNetDataset, MultiScaleDataset
from paddle_conv.data.transforms import build_transforms
from paddle_conv.errors import DataError, WeightsError
from paddle_conv.io import FILE_KINDS, MAX_JSON_DEPTH, FileKind, check_user_file, read_json, read_user_bytes
from tests.test_bad_inputs_tools import (
    DET_CONFIG,
    _images,
    _save_weights,
    _tiny_config,
    assert_refused,
    run,
    snapshot,
    tiny_det,
    write_voc,
)
from tools import convert_weights, eval_det, export, reparameterize, train_det
from tools import infer as infer_tool
from tools import train as train_tool

ROOT = Path(__file__).resolve().parents[1]
#: The longest a refusal may take (a hang fails the test after this many seconds).
BOUND_S = 60
#: What each special file is, as the error line says it.
SPECIALS = {"fifo": "a FIFO", "dev_zero": "a character device"}
SECRET = "root:$6$SECRETHASH0123456789:19000:0:99999:7:::"


class Hung(BaseException):
    """A tool still running after :data:`BOUND_S` seconds (a BaseException: no ``except Exception`` eats it)."""


@contextlib.contextmanager
def time_bound(seconds=BOUND_S):
    def expire(signum, frame):
        raise Hung(f"still running after {seconds} s: a reader blocks")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def make_special(path, special):
    """A FIFO, or a symbolic link to /dev/zero, at ``path`` (replacing what is there)."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if special == "fifo":
        os.mkfifo(path)
    else:
        os.symlink("/dev/zero", path)
    return path


def run_tool(main, argv, capsys):
    """``(exit status, stdout, stderr, seconds)`` of ``run_cli(main, argv)`` under :func:`time_bound`."""
    with time_bound():
        return run(lambda args: run_cli(main, args), argv, capsys)


def assert_one_error(result, *patterns):
    """Exit 2, one ``error:`` line, the last of stderr, holding every pattern; no traceback. The line."""
    line = assert_refused(result, *patterns, limit=BOUND_S)
    assert result[2].strip().splitlines()[-1] == line, result[2]
    return line


# ------------------------------------------------------------------------------ the user's files
def digits_config(tmp, **sections):
    """A tiny_cnn copy of configs/digits_quick.yaml writing under ``tmp/out``, sections replaced by ``sections``."""
    path = _tiny_config(tmp, output_dir=str(tmp / "out"), use_visualdl=False, epochs=1, eval_during_train=False)
    cfg = yaml.safe_load(path.read_text())
    cfg["DataLoader"]["Train"]["dataset"]["max_samples"] = 64
    cfg["DataLoader"]["Eval"]["dataset"]["max_samples"] = 32
    cfg.update(sections)
    path.write_text(yaml.safe_dump(cfg))
    return path


def tiny_weights(path, optimizer=False):
    """The state dict (``optimizer``: an Adam state) of :func:`digits_config`'s model, saved at ``path``."""
    if not optimizer:
        _save_weights(path)
        return path
    paddle.seed(0)
    model = pc.create_model("tiny_cnn", num_classes=10, width=0.25)
    adam = paddle.optimizer.Adam(parameters=model.parameters())
    model(paddle.zeros([1, 3, 16, 16])).mean().backward()
    adam.step()
    paddle.save(adam.state_dict(), str(path))
    return path


def list_dataset(tmp, count=4):
    """``images/`` of ``count`` PNGs and ``list.txt`` naming them; the DataLoader section training on them."""
    (tmp / "images").mkdir(exist_ok=True)
    for i in range(count):
        Image.new("RGB", (16, 16), (i * 50, 0, 0)).save(tmp / "images" / f"{i}.png")
    (tmp / "list.txt").write_text("".join(f"{i}.png {i % 10}\n" for i in range(count)))
    dataset = {"name": "ImageNetDataset", "image_root": str(tmp / "images"), "cls_label_path": str(tmp / "list.txt"),
               "transform_ops": [{"ToTensor": None}]}
    return {"Train": {"dataset": dataset, "sampler": {"name": "DistributedBatchSampler", "batch_size": 2,
                                                      "shuffle": False, "drop_last": False},
                      "loader": {"num_workers": 0}}}


def resume_run(tmp, json_text='{"epoch": 1}'):
    """``run/latest.{pdparams,pdopt,json}`` as a classification run leaves them; the ``-o`` to resume it."""
    (tmp / "run").mkdir()
    tiny_weights(tmp / "run" / "latest.pdparams")
    tiny_weights(tmp / "run" / "latest.pdopt", optimizer=True)
    if json_text is not None:
        (tmp / "run" / "latest.json").write_text(json_text)
    return ["-o", f"Global.checkpoints={tmp / 'run' / 'latest'}"]


DET_LATEST_JSON = json.dumps({"epoch": 1, "step": 2, "best": {"mAP": 0.1, "mAP_11": 0.1}})


def det_resume(tmp, stage="teacher"):
    """A run folder whose ``stage`` has ``latest.json``; the argv of resuming it."""
    (tmp / "run" / stage).mkdir(parents=True)
    (tmp / "run" / stage / "latest.json").write_text(DET_LATEST_JSON)
    return ["-c", DET_CONFIG] + tiny_det(tmp / "run", **{"Global.resume": "true"})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """``(folder, config)``: a tiny classifier exported by tools/export.py into ``folder/inference``."""
    root = tmp_path_factory.mktemp("exported")
    tiny_weights(root / "trained.pdparams")
    config = digits_config(root)
    cfg = yaml.safe_load(config.read_text())
    cfg["Global"]["pretrained_model"] = str(root / "trained")
    config.write_text(yaml.safe_dump(cfg))
    assert export.main(["-c", str(config)]) == 0
    return root, config


def copy_export(exported, tmp, **infer):
    """The export copied into ``tmp``, its config pointing there (``infer``: the config's Infer section)."""
    import shutil

    root, _ = exported
    shutil.copytree(root / "inference", tmp / "inference")
    config = digits_config(tmp, **({"Infer": infer} if infer else {}))
    return config


# ------------------------------------------------------------------- every path, every special
def _list_entry(tmp, exported):
    config = digits_config(tmp, DataLoader=list_dataset(tmp))
    return train_tool.main, ["-c", config], tmp / "images" / "2.png"


def _list_file(tmp, exported):
    config = digits_config(tmp, DataLoader=list_dataset(tmp))
    return train_tool.main, ["-c", config], tmp / "list.txt"


def _config(tmp, exported):
    return train_tool.main, ["-c", tmp / "tiny.yaml"], tmp / "tiny.yaml"


def _pretrained_model(tmp, exported):
    config = digits_config(tmp)
    return train_tool.main, ["-c", config, "-o", f"Global.pretrained_model={tmp / 'weights'}"], \
        tmp / "weights.pdparams"


def _latest_pdparams(tmp, exported):
    return train_tool.main, ["-c", digits_config(tmp)] + resume_run(tmp), tmp / "run" / "latest.pdparams"


def _latest_pdopt(tmp, exported):
    return train_tool.main, ["-c", digits_config(tmp)] + resume_run(tmp), tmp / "run" / "latest.pdopt"


def _latest_json(tmp, exported):
    return train_tool.main, ["-c", digits_config(tmp)] + resume_run(tmp), tmp / "run" / "latest.json"


def _voc_xml(tmp, exported):
    voc = write_voc(tmp / "voc")
    return train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp / "run", voc), voc / "Annotations" / "000003.xml"


def _voc_image(tmp, exported):
    voc = write_voc(tmp / "voc")
    return train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp / "run", voc), voc / "JPEGImages" / "000005.jpg"


def _voc_list(tmp, exported):
    voc = write_voc(tmp / "voc")
    return train_det.main, ["-c", DET_CONFIG] + tiny_det(tmp / "run", voc), voc / "ImageSets" / "Main" / "trainval.txt"


def _det_latest_json(tmp, exported):
    return train_det.main, det_resume(tmp), tmp / "run" / "teacher" / "latest.json"


def _det_latest_pdparams(tmp, exported):
    return train_det.main, det_resume(tmp), tmp / "run" / "teacher" / "latest.pdparams"


def _det_config(tmp, exported):
    return train_det.main, ["-c", tmp / "det.yaml"], tmp / "det.yaml"


def _infer_image(tmp, exported):
    config = copy_export(exported, tmp)
    return infer_tool.main, ["-c", config, "--input", _images(tmp / "images")], tmp / "images" / "1.png"


def _infer_class_names(tmp, exported):
    config = copy_export(exported, tmp)
    return infer_tool.main, ["-c", config, "--input", _images(tmp / "images"), "--class_names", tmp / "names.txt"], \
        tmp / "names.txt"


def _class_id_map_file(tmp, exported):
    config = copy_export(exported, tmp, PostProcess={"name": "Topk", "topk": 2,
                                                     "class_id_map_file": str(tmp / "map.txt")})
    return infer_tool.main, ["-c", config, "--input", _images(tmp / "images")], tmp / "map.txt"


def _infer_config(tmp, exported):
    config = copy_export(exported, tmp)
    return infer_tool.main, ["-c", config, "--input", _images(tmp / "images")], config


def _exported_params(tmp, exported):
    config = copy_export(exported, tmp)
    target = tmp / "inference" / "inference.pdiparams"
    return infer_tool.main, ["-c", config, "--input", _images(tmp / "images")], target


def _convert_src(tmp, exported):
    argv = ["--model", "tiny_cnn", "--src", tmp / "in.pth", "--dst", tmp / "out.pdparams"]
    return convert_weights.main, argv, tmp / "in.pth"


def _eval_det_weights(tmp, exported):
    return eval_det.main, ["-c", DET_CONFIG, "--weights", tmp / "mine"], tmp / "mine.pdparams"


def _reparameterize_weights(tmp, exported):
    return reparameterize.main, ["-c", ROOT / "configs" / "refconv_finetune.yaml", "--weights", tmp / "mine",
                                 "--output", tmp / "plain"], tmp / "mine.pdparams"


PATH_OPTIONS = {f.__name__[1:]: f for f in (
    _list_entry, _list_file, _config, _pretrained_model, _latest_pdparams, _latest_pdopt, _latest_json, _voc_xml,
    _voc_image, _voc_list, _det_latest_json, _det_latest_pdparams, _det_config, _infer_image, _infer_class_names,
    _class_id_map_file, _infer_config, _exported_params, _convert_src, _eval_det_weights, _reparameterize_weights)}


@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("option", list(PATH_OPTIONS))
def test_a_fifo_or_dev_zero_at_any_path_is_refused_in_one_line(option, special, exported, tmp_path, capsys):
    main, argv, target = PATH_OPTIONS[option](tmp_path, exported)
    make_special(target, special)
    before = snapshot(tmp_path)
    line = assert_one_error(run_tool(main, argv, capsys), repr(str(target)), f"is {SPECIALS[special]}")
    assert special != "dev_zero" or "symbolic link to '/dev/zero'" in line
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("out/")} == before, "a user file changed"
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.pdparams"))


@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("backend", ["cv2", "pil"])
def test_the_data_set_refuses_a_fifo_or_dev_zero_image_on_every_decode_path(special, backend, tmp_path):
    """PaddleClas's pipeline (``DecodeImage``, bytes to OpenCV or PIL) and the PIL pipeline read through one rule."""
    list_dataset(tmp_path)
    make_special(tmp_path / "images" / "1.png", special)
    ops = [{"DecodeImage": {"to_rgb": True, "channel_first": False, "backend": backend}},
           {"ResizeImage": {"size": 8, "backend": backend}}, {"ToCHWImage": None}]
    for transform in (build_transforms(ops, to_chw=False), build_transforms([{"ToTensor": None}])):
        dataset = ImageNetDataset(str(tmp_path / "images"), str(tmp_path / "list.txt"), transform=transform)
        assert dataset[0][0].shape[0] == 3
        refused = rf"1\.png' \(listed at .*list\.txt:2\) is {SPECIALS[special]}"
        with time_bound(), pytest.raises(DataError, match=refused):
            dataset[1]


@pytest.mark.parametrize("special", list(SPECIALS))
def test_multi_scale_and_image_folder_data_sets_refuse_a_fifo_or_dev_zero_image(special, tmp_path):
    list_dataset(tmp_path)
    make_special(tmp_path / "images" / "1.png", special)
    ops = [{"DecodeImage": {}}, {"ResizeImage": {"size": 8}}]
    multi_scale = MultiScaleDataset(str(tmp_path / "images"), str(tmp_path / "list.txt"), ops)
    assert multi_scale[(8, 8, 0)][0].shape == (3, 8, 8)
    with time_bound(), pytest.raises(DataError, match=rf"1\.png' \(listed at .*list\.txt:2\) is {SPECIALS[special]}"):
        multi_scale[(16, 8, 1)]
    folder = tmp_path / "folder" / "cat"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "0.png")
    make_special(folder / "1.png", special)
    dataset = ImageFolder(str(tmp_path / "folder"))
    assert [os.path.basename(p) for p, _ in dataset.samples] == ["0.png", "1.png"]
    with time_bound(), pytest.raises(DataError, match=rf"1\.png' is {SPECIALS[special]}"):
        dataset[1]


def test_a_fifo_list_entry_stops_tools_train_in_a_subprocess(tmp_path):
    """tools/train.py as a user runs it: the FIFO image of a list ends the run within the bound (it once hung)."""
    config = digits_config(tmp_path, DataLoader=list_dataset(tmp_path))
    make_special(tmp_path / "images" / "3.png", "fifo")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, ROOT / "tools" / "train.py", "-c", config], capture_output=True, text=True,
                          timeout=BOUND_S, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert_one_error((proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start), "3.png", "a FIFO")


# ----------------------------------------------------------------------- the rule, unit by unit
def test_the_size_bound_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "map.txt"
    path.write_text("0 cat\n" * 1000)
    monkeypatch.setitem(FILE_KINDS, "class map", FileKind("a class map", 4096, DataError))
    with pytest.raises(DataError, match=r"map\.txt' is 5\.86 kB, over the 4 kB limit for a class map"):
        read_user_bytes(path, "class map")
    assert check_user_file(tmp_path / "map.txt", "list") == 6000


def test_a_file_that_grows_while_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "grows.txt"
    path.write_text("x" * 100)
    monkeypatch.setattr(os, "set_blocking", lambda fd, blocking: path.write_text("x" * 400))  # after the check
    with pytest.raises(DataError, match="grows.txt' grew past the 100 bytes it had when opened"):
        read_user_bytes(path, "list")


@pytest.mark.parametrize("what, problem", [
    ("missing", "does not exist"), ("directory", "is a directory"), ("loop", "is a loop of symbolic links"),
])
def test_other_non_files_are_named(what, problem, tmp_path):
    path = tmp_path / "x"
    if what == "directory":
        path.mkdir()
    elif what == "loop":
        os.symlink(path, path)
    with pytest.raises(WeightsError, match=rf"'{path}' {problem}"):
        read_user_bytes(path, "weights", "checkpoint")


# ------------------------------------------------------------------------ resume state (case 8)
def test_json_nested_200000_deep_is_one_error_not_a_recursion_error(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 200_000)
    with pytest.raises(WeightsError, match=rf"deep\.json' is nested 200000 levels deep, more than {MAX_JSON_DEPTH}"):
        read_json(tmp_path / "deep.json", lambda exc: f"deep.json: {exc}")
    (tmp_path / "ok.json").write_text(json.dumps({"a": [[["[[[[" * 100]]]}))  # brackets in strings do not count
    assert read_json(tmp_path / "ok.json", str) == {"a": [[["[[[[" * 100]]]}


def test_resuming_from_deeply_nested_latest_json_is_refused(tmp_path, capsys):
    argv = ["-c", digits_config(tmp_path)] + resume_run(tmp_path, "[" * 200_000)
    before = snapshot(tmp_path)
    assert_one_error(run_tool(train_tool.main, argv, capsys), "latest.json", "nested 200000 levels deep")
    assert snapshot(tmp_path) == before
    (tmp_path / "run" / "teacher").mkdir(parents=True)
    (tmp_path / "run" / "teacher" / "latest.json").write_text("[" * 200_000)
    argv = ["-c", DET_CONFIG] + tiny_det(tmp_path / "run", **{"Global.resume": "true"})
    assert_one_error(run_tool(train_det.main, argv, capsys), "latest.json", "nested 200000 levels deep")


def test_a_run_folder_without_latest_json_is_not_resumed_at_epoch_0(tmp_path, capsys):
    """latest.pdparams and .pdopt without latest.json once resumed as "0 of 3 epochs done" at learning rate 0."""
    argv = ["-c", digits_config(tmp_path)] + resume_run(tmp_path, json_text=None)
    before = snapshot(tmp_path)
    code, out, _, _ = result = run_tool(train_tool.main, argv, capsys)
    assert_one_error(result, "latest.json' is missing", "cannot be resumed", "Global.pretrained_model")
    assert "epoch" not in out and snapshot(tmp_path) == before and not (tmp_path / "out").exists()


def test_a_detection_stage_without_latest_json_is_not_trained_again_silently(tmp_path, capsys):
    argv = det_resume(tmp_path, "student_kd")
    (tmp_path / "run" / "student_kd" / "latest.json").unlink()
    tiny_weights(tmp_path / "run" / "student_kd" / "latest.pdparams")
    tiny_weights(tmp_path / "run" / "student_kd" / "latest.pdopt", optimizer=True)
    before = snapshot(tmp_path)
    code, out, _, _ = result = run_tool(train_det.main, argv, capsys)
    assert_one_error(result, "student_kd stage is incomplete", "latest.json is missing", "latest.pdparams")
    assert "epoch" not in out and snapshot(tmp_path) == before


# ------------------------------------------------------------ what errors and outputs print (case 12)
@pytest.mark.parametrize("content, problem", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "is not a UTF-8 text file"),
    (f"{SECRET}\ndaemon:*:19000:0:99999:7:::\n".encode(), "line 1 does not start with a class id"),
])
def test_a_class_id_map_that_is_binary_or_not_a_map_quotes_none_of_it(content, problem, exported, tmp_path, capsys):
    config = copy_export(exported, tmp_path, PostProcess={"name": "Topk", "topk": 2,
                                                          "class_id_map_file": str(tmp_path / "map.txt")})
    (tmp_path / "map.txt").write_bytes(content)
    code, out, err, _ = result = run_tool(infer_tool.main, ["-c", config, "--input", _images(tmp_path / "in")], capsys)
    assert_one_error(result, "map.txt", problem, "Infer.PostProcess.class_id_map_file")
    assert "SECRETHASH" not in out + err and "daemon" not in out + err and "PNG" not in err


def test_a_label_list_of_secrets_quotes_none_of_it(tmp_path, capsys):
    loaders = list_dataset(tmp_path)
    (tmp_path / "list.txt").write_text(f"{SECRET}\n")
    code, out, err, _ = result = run_tool(train_tool.main, ["-c", digits_config(tmp_path, DataLoader=loaders)],
                                          capsys)
    assert_one_error(result, "list.txt:1",
                     "expected 'relative/path.jpg <integer label>' separated by whitespace, got 1 fields")
    assert "SECRETHASH" not in out + err


FORGED = "0.png\nFORGED.png: 7 (0.9999)\nx.png"


@pytest.mark.parametrize("as_json", [False, True])
def test_a_file_name_cannot_forge_a_line_of_infer_output(as_json, exported, tmp_path, capsys):
    config = copy_export(exported, tmp_path)
    folder = _images(tmp_path / "in", count=2)
    Image.new("RGB", (12, 20)).save(folder / FORGED, format="PNG")
    (folder / "\x1b[2Jclear.png").write_bytes((folder / "0.png").read_bytes())
    code, out, err, _ = run_tool(infer_tool.main, ["-c", config, "--input", folder] + ["--json"] * as_json, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 4 and not any(line.startswith("FORGED") for line in lines), out
    assert "\x1b" not in out
    if as_json:
        assert sorted(json.loads(line)["image"] for line in lines) == sorted(
            str(folder / n) for n in ("0.png", "1.png", FORGED, "\x1b[2Jclear.png"))
    else:
        assert any(line.startswith(printable(str(folder / FORGED)) + ": ") for line in lines), out
        assert "FORGED.png: 7 (0.9999)\\nx.png: " in out


def test_printable_escapes_what_could_start_a_line_or_hide_a_name():
    assert printable("plain é 名.png") == "plain é 名.png"
    assert printable("a\nb\rc\\d\x1b\u2028\udcff") == "a\\nb\\rc\\\\d\\x1b\\u2028\\udcff"


def test_a_multi_line_yaml_error_of_any_tool_is_one_error_line(exported, tmp_path, capsys):
    config = copy_export(exported, tmp_path)
    config.write_text("Global:\n  a: 1\n b: [\n")
    for main, argv in ((export.main, ["-c", config]), (infer_tool.main, ["-c", config, "--input", tmp_path]),
                       (train_det.main, ["-c", config])):
        assert_one_error(run_tool(main, argv, capsys), "tiny.yaml", "invalid YAML", "line 3")


# ------------------------------------------------ files that are no config at all, given as -c
@pytest.mark.parametrize("content", [f"{SECRET}\ndaemon:*:19000:0:99999:7:::\n", "SECRETHASH words\n",
                                     f"Global:\n  '{SECRET}': 1\n"])
def test_a_config_that_is_someones_secrets_quotes_none_of_it(content, tmp_path, capsys):
    (tmp_path / "shadow").write_text(content)
    for main in (train_tool.main, export.main, train_det.main):
        code, out, err, _ = result = run_tool(main, ["-c", tmp_path / "shadow"], capsys)
        assert_one_error(result, "shadow")
        assert "SECRETHASH" not in out + err and "daemon" not in out + err


# ------------------------------------------------------------------- a decompression bomb for infer
def test_infer_refuses_an_image_over_the_pixel_limit_from_its_header(exported, tmp_path, capsys):
    """A 16 KB PNG of 9500x9500 1-bit pixels (under PIL's own error limit, 2x ours): refused before decoding
    (it decoded to 270 MB of RGB, then float32 copies, in tools/infer.py while training refused it)."""
    config = copy_export(exported, tmp_path)
    Image.new("1", (9500, 9500)).save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 100_000
    assert_one_error(run_tool(infer_tool.main, ["-c", config, "--input", tmp_path / "bomb.png"], capsys),
                     "bomb.png", "9500x9500 pixels, more than the limit", "decompression bomb")


@pytest.mark.parametrize("special", ["truncated", "fifo", "directory"])
def test_onnx_predictor_refuses_what_is_no_onnx_model_as_a_weights_error(special, tmp_path):
    from paddle_conv.deploy.onnx import OnnxPredictor

    path = tmp_path / "inference.onnx"
    if special == "truncated":
        path.write_bytes(b"\x08\x07\x12\x0bpaddle2onnx\x1a")
    elif special == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    problem = {"truncated": "ONNX Runtime cannot load", "fifo": "is a FIFO", "directory": "is a directory"}[special]
    with time_bound(), pytest.raises(WeightsError, match=problem) as info:
        OnnxPredictor(str(path))
    assert "\n" not in str(info.value)


def test_a_checkpoint_key_cannot_forge_a_line_of_convert_weights_output(tmp_path, capsys):
    import torch

    path = tmp_path / "forge.pth"
    torch.save({"state_dict": {"conv.weight": torch.zeros(2, 2)}, "x\nmodel: FORGED\x1b[2J": 1}, path)
    code, out, err, _ = run_tool(convert_weights.main, ["--inspect", str(path)], capsys)
    assert code == 0, err
    assert not any(line.startswith("model: FORGED") for line in out.splitlines()) and "\x1b" not in out, out
    assert "x\\nmodel: FORGED\\x1b[2J" in out


@pytest.mark.parametrize("json_text", ['{"epoch": -5}', '{"epoch": 1, "best_metric": NaN}',
                                       '{"epoch": 1, "best_metric": "x"}', f'{{"epoch": "{SECRET}"}}',
                                       '{"epoch": 1, "optimizer": "SECRETHASH\\nerror: forged"}'])
def test_latest_json_of_impossible_values_is_refused_quoting_none_of_it(json_text, tmp_path, capsys):
    """epoch -5 was a ValueError traceback; a string epoch was quoted in the error, an optimizer name echoed."""
    argv = ["-c", digits_config(tmp_path)] + resume_run(tmp_path, json_text)
    before = snapshot(tmp_path)
    code, out, err, _ = result = run_tool(train_tool.main, argv, capsys)
    assert_one_error(result, "latest.json", "is not what save_checkpoint writes")
    assert "SECRETHASH" not in out + err and snapshot(tmp_path) == before


def test_an_export_description_naming_a_secret_quotes_none_of_it(exported, tmp_path, capsys):
    config = copy_export(exported, tmp_path)
    meta_path = tmp_path / "inference" / "inference_config.json"
    meta = json.loads(meta_path.read_text())
    meta["Arch"]["name"] = SECRET
    meta_path.write_text(json.dumps(meta))
    code, out, err, _ = result = run_tool(infer_tool.main, ["-c", config, "--input", _images(tmp_path / "in")], capsys)
    assert_one_error(result, "holds an export of Arch", "not a plain name")
    assert "SECRETHASH" not in out + err


def test_export_weights_of_a_classification_config_is_refused_not_ignored(exported, tmp_path, capsys):
    """--weights (a detection option) was silently ignored: the export held Global.pretrained_model's weights."""
    config = digits_config(tmp_path)
    before = snapshot(tmp_path)
    assert_one_error(run_tool(export.main, ["-c", config, "--weights", tmp_path / "mine"], capsys),
                     "--weights is for detection configs only", "Global.pretrained_model")
    assert snapshot(tmp_path) == before and not (tmp_path / "inference").exists()
