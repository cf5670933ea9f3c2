"""Kill a training run mid-epoch, resume it: the loss curve equals an uninterrupted run's (same seed).

The run shuffles its data, applies a random augmentation and follows a warm-up + cosine learning
rate, so the data order, the RNG state and the scheduler state must all survive the resume.
Per-step losses are read back from the VisualDL logs of each run.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.path.join(ROOT, "configs", "digits_quick.yaml")
STEPS_PER_EPOCH, EPOCHS = 4, 3
AUGMENTED = ("[{RandomHorizontalFlip: {prob: 0.5}}, ToTensor, "
             "{Normalize: {mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]}}]")


def _command(out):
    overrides = [f"Global.output_dir={out}", f"Global.epochs={EPOCHS}", "Global.print_batch_step=1",
                 "Global.eval_during_train=false", "Global.seed=7",
                 f"DataLoader.Train.dataset.max_samples={16 * STEPS_PER_EPOCH}",
                 "DataLoader.Train.sampler.batch_size=16", f"DataLoader.Train.dataset.transform_ops={AUGMENTED}",
                 "Optimizer={name: Momentum, momentum: 0.9, lr: {name: Cosine, learning_rate: 0.05, "
                 "warmup_epoch: 1, warmup_start_lr: 0.001}}"]
    return [sys.executable, os.path.join(ROOT, "tools", "train.py"), "-c", QUICK,
            *[arg for item in overrides for arg in ("-o", item)]]


def _losses(vdl_file):
    from visualdl import LogReader

    return {r.id: r.value for r in LogReader(file_path=vdl_file).get_data("scalar", "train/loss")}


def _epochs_done(run):
    try:
        with open(os.path.join(run, "latest.json"), encoding="utf-8") as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError):
        return 0


def test_resume_after_sigkill_reproduces_the_uninterrupted_loss_curve(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    whole_err = tmp_path / "whole.err"
    with open(whole_err, "wb") as err:  # the uninterrupted run goes on beside the killed one
        whole = subprocess.Popen(_command(tmp_path / "whole"), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                 stderr=err)
    run = str(tmp_path / "killed" / "oct_mobilenet")
    proc = subprocess.Popen(_command(tmp_path / "killed"), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _epochs_done(run) < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)  # in epoch 2 (or while it writes epoch 1's checkpoints)
    proc.wait()
    done = _epochs_done(run)
    assert 1 <= done < EPOCHS

    before = set(glob.glob(os.path.join(run, "vdl", "vdlrecords.*")))
    resumed = subprocess.run(_command(tmp_path / "killed") + ["-o", f"Global.checkpoints={run}/latest"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (resumed_log,) = set(glob.glob(os.path.join(run, "vdl", "vdlrecords.*"))) - before
    got = _losses(resumed_log)
    steps = list(range(done * STEPS_PER_EPOCH + 1, EPOCHS * STEPS_PER_EPOCH + 1))  # VisualDL steps are 1-based
    assert sorted(got) == steps, sorted(got)

    assert whole.wait(timeout=300) == 0, whole_err.read_text()[-3000:]
    (whole_log,) = glob.glob(str(tmp_path / "whole" / "oct_mobilenet" / "vdl" / "vdlrecords.*"))
    expected = _losses(whole_log)
    assert sorted(expected) == list(range(1, STEPS_PER_EPOCH * EPOCHS + 1)), sorted(expected)
    diffs = {step: abs(got[step] - expected[step]) for step in steps}
    assert max(diffs.values()) <= 1e-6, f"resumed vs uninterrupted loss, per step: {diffs}"
