"""tools/train.py and tools/eval.py on tiny Digits runs (seconds): outputs, VisualDL, guards, resume."""

import glob
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import paddle
import pytest

from paddle_conv.cli import run_cli
from paddle_conv.io import safe_paddle_load
from tools import eval as eval_tool
from tools import train as train_tool

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(ROOT, "configs", "digits_quick.yaml")


def tiny(out, train_samples=48, epochs=2, evaluate=True):
    """Overrides for a run of ``epochs`` x (train_samples / 16) steps on 16x16 digits under ``out``."""
    return ["-o", f"Global.output_dir={out}", "-o", f"Global.epochs={epochs}", "-o", "Global.print_batch_step=1",
            "-o", f"Global.eval_during_train={str(evaluate).lower()}",
            "-o", f"DataLoader.Train.dataset.max_samples={train_samples}",
            "-o", "DataLoader.Train.sampler.batch_size=16",
            "-o", "DataLoader.Eval.dataset.max_samples=32"]


def meta(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_train_writes_checkpoints_visualdl_scalars_and_eval_matches(tmp_path, capsys):
    from visualdl import LogReader

    assert train_tool.main(["-c", QUICK, *tiny(tmp_path)]) == 0
    out = capsys.readouterr().out
    run = tmp_path / "oct_mobilenet"
    assert f"visualdl --logdir {run / 'vdl'} --port 8040" in out and "Epoch 2/2" in out
    for tag in ("epoch_1", "epoch_2", "latest", "best_model"):
        for ext in (".pdparams", ".pdopt", ".json"):
            assert (run / (tag + ext)).exists(), tag + ext
    latest = meta(run / "latest.json")
    assert latest["epoch"] == 2 and latest["best_epoch"] in (1, 2)

    (log,) = glob.glob(str(run / "vdl" / "vdlrecords.*"))
    reader = LogReader(file_path=log)
    scalars = reader.get_tags()["scalar"]
    for tag in ("train/loss", "train/acc_top1", "train/lr", "eval/loss", "eval/acc_top1", "eval/acc_top5"):
        assert tag in scalars
    assert len(reader.get_data("scalar", "train/loss")) == 6  # 3 steps x 2 epochs
    assert [round(r.value, 6) for r in reader.get_data("scalar", "train/lr")] == [0.001] * 6
    assert len(reader.get_data("scalar", "eval/acc_top1")) == 2

    best = meta(run / "best_model.json")["best_metric"]
    assert eval_tool.main(["-c", QUICK, "-o", f"Global.pretrained_model={run / 'best_model'}",
                           "-o", "DataLoader.Eval.dataset.max_samples=32"]) == 0
    printed = capsys.readouterr().out
    top1 = float(re.search(r"top-1 ([0-9.]+)\s+top-5 ([0-9.]+)\s+loss ([0-9.]+)", printed).group(1))
    assert abs(top1 - best) < 1e-4


def test_same_seed_same_run(tmp_path, capsys):
    losses = []
    for name in ("a", "b"):
        assert train_tool.main(["-c", QUICK, *tiny(tmp_path / name, epochs=1, evaluate=False)]) == 0
        losses.append(meta(tmp_path / name / "oct_mobilenet" / "latest.json")["train_loss"])
    assert losses[0] == losses[1]


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path, capsys):
    lr = "Optimizer.lr={name: Piecewise, decay_epochs: [1], values: [0.001, 1.0e+38]}"
    assert run_cli(train_tool.main, ["-c", QUICK, *tiny(tmp_path, epochs=3, evaluate=False), "-o", lr]) == 2
    err = capsys.readouterr().err
    found = re.search(r"error: training loss is (nan|inf|-inf) at epoch (\d+), step (\d+) \(global step (\d+)\) "
                      r"with learning rate 1e\+38", err)
    assert found, err
    epoch, step, global_step = (int(found.group(i)) for i in (2, 3, 4))
    assert epoch >= 2 and global_step == (epoch - 1) * 3 + step  # the rate jumps after epoch 1
    latest = str(tmp_path / "oct_mobilenet" / "latest")
    assert f"the last good checkpoint is {latest}" in err and "Lower Optimizer.lr.learning_rate" in err
    assert meta(latest + ".json")["epoch"] == epoch - 1  # the diverged epoch was never saved
    safe_paddle_load(latest + ".pdparams")


@pytest.mark.parametrize("override, message", [
    ("Global.epcohs=1", "Global.epcohs: unknown key 'epcohs'. Closest valid key: 'epochs'"),
    ("DataLoader.Train.dataset={name: ImageNetDataset, image_root: /no/such/dir, cls_label_path: /no/list.txt}",
     "DataLoader.Train.dataset (ImageNetDataset): image root '/no/such/dir' does not exist"),
    ("Global.pretrained_model=/no/weights", "pretrained weights '/no/weights.pdparams' do not exist"),
    ("Global.checkpoints=/no/ckpt/latest", "checkpoint '/no/ckpt/latest.pdparams' does not exist"),
])
def test_bad_input_exits_2_with_named_problem(tmp_path, capsys, override, message):
    assert run_cli(train_tool.main, ["-c", QUICK, *tiny(tmp_path, epochs=1), "-o", override]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


def test_label_outside_class_num_names_line(tmp_path, capsys):
    images = tmp_path / "img"
    images.mkdir()
    from PIL import Image

    Image.new("RGB", (4, 4)).save(images / "a.png")
    (tmp_path / "list.txt").write_text("a.png 0\na.png 10\n", encoding="utf-8")
    dataset = f"{{name: ImageNetDataset, image_root: {images}, cls_label_path: {tmp_path / 'list.txt'}}}"
    assert run_cli(train_tool.main, ["-c", QUICK, *tiny(tmp_path), "-o", f"DataLoader.Train.dataset={dataset}"]) == 2
    assert re.search(r"label 10 at .*list.txt:2 is outside \[0, 10\)", capsys.readouterr().err)


def _read_into(stream, chunks):
    for chunk in iter(lambda: stream.read1(4096), b""):
        chunks.append(chunk.decode("utf-8", "replace"))


def test_sigkill_mid_epoch_then_resume_from_latest(tmp_path):
    cmd = [sys.executable, os.path.join(ROOT, "tools", "train.py"), "-c", QUICK,
           *tiny(tmp_path, 64, epochs=2, evaluate=False)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunks = []
    reader = threading.Thread(target=_read_into, args=(proc.stdout, chunks), daemon=True)
    reader.start()
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        text = "".join(chunks)
        if "Epoch 2/2" in text and "step 2/4" in text.split("Epoch 2/2", 1)[1]:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed:\n" + "".join(chunks)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(5)

    run = tmp_path / "oct_mobilenet"
    assert meta(run / "latest.json")["epoch"] == 1 and not (run / "epoch_2.json").exists()
    for path in glob.glob(str(run / "*.pdparams")) + glob.glob(str(run / "*.pdopt")):
        safe_paddle_load(path)  # every checkpoint file is complete
    for path in glob.glob(str(run / "*.json")):
        meta(path)

    resumed = subprocess.run(cmd + ["-o", f"Global.checkpoints={run / 'latest'}"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "1 of 2 epochs done" in resumed.stdout and "Epoch 1/2" not in resumed.stdout
    assert "Epoch 2/2" in resumed.stdout
    assert meta(run / "latest.json")["epoch"] == 2 and (run / "epoch_2.pdparams").exists()


@pytest.mark.skipif(paddle.is_compiled_with_cuda(), reason="this Paddle build has a GPU device")
def test_gpu_device_on_cpu_build_is_a_config_error(tmp_path, capsys):
    assert run_cli(train_tool.main, ["-c", QUICK, *tiny(tmp_path, epochs=1), "-o", "Global.device=gpu"]) == 2
    assert "error: Global.device: cannot use 'gpu' with this Paddle build" in capsys.readouterr().err


def test_a_run_resumes_in_the_process_that_wrote_it(tmp_path):
    """Optimizer state is keyed by generated parameter names: each train() names them afresh."""
    paddle.nn.Linear(2, 2)  # names taken before the first run: without a fresh scope the second run differs
    assert train_tool.main(["-c", QUICK] + tiny(tmp_path, epochs=1, evaluate=False)) == 0
    latest = tmp_path / "oct_mobilenet" / "latest"
    resumed = ["-o", f"Global.checkpoints={latest}"] + tiny(tmp_path / "again", epochs=2, evaluate=False)
    assert train_tool.main(["-c", QUICK] + resumed) == 0
    assert meta(str(tmp_path / "again" / "oct_mobilenet" / "latest.json"))["epoch"] == 2
