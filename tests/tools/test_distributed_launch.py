"""``python -m paddle.distributed.launch`` runs tools/train.py data-parallel on CPU (2 processes, gloo),
VisualDL extras included (they are written at the end so no rank waits in an all-reduce)."""

import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_two_process_cpu_launch_trains_and_logs(tmp_path):
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
           str(tmp_path / "log"), os.path.join(ROOT, "tools", "train.py"),
           "-c", os.path.join(ROOT, "configs", "digits_quick.yaml"), "-o", f"Global.output_dir={tmp_path / 'out'}",
           "-o", "Global.epochs=1", "-o", "DataLoader.Train.dataset.max_samples=64",
           "-o", "DataLoader.Train.sampler.batch_size=16", "-o", "DataLoader.Eval.dataset.max_samples=32"]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    workers = sorted(glob.glob(str(tmp_path / "log" / "workerlog.*")))
    logs = {p: open(p, encoding="utf-8", errors="replace").read() for p in workers}
    assert run.returncode == 0, "\n".join(text[-2000:] for text in logs.values())
    assert len(logs) == 2
    # each rank trains on its half: 64 samples / 2 ranks / batch 16 = 2 steps
    assert "DataLoader.Train: Digits, 64 samples, batch 16, 2 steps" in logs[str(tmp_path / "log" / "workerlog.0")]
    run_dir = tmp_path / "out" / "oct_mobilenet"
    assert (run_dir / "latest.pdparams").is_file()
    assert glob.glob(str(run_dir / "vdl" / "vdlgraph.*")) and glob.glob(str(run_dir / "vdl" / "vdlrecords.*"))
