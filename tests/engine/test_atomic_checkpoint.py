"""Faults while a checkpoint is written: SIGKILL at random points, a full disk.

Each checkpoint written here is stamped with a version ``v``: every weight equals ``v``, the
optimizer state holds ``v`` and the JSON says ``{"version": v}``. After a fault the checkpoint
on disk must load and be *one* version throughout, never older than the last one completed.
"""

import errno
import json
import os
import random
import signal
import time

import numpy as np
import paddle
import pytest

from paddle_conv.engine import atomic_checkpoint as ckpt
from paddle_conv.engine.atomic_checkpoint import load_checkpoint, save_checkpoint
from paddle_conv.io import atomic_json_save


class VersionOptimizer:
    """Stands in for an optimizer: its state is the version number (checked after reloading)."""

    def __init__(self, version=0):
        self.version = version

    def state_dict(self):
        return {"version": np.array([self.version], dtype="int64")}

    def set_state_dict(self, state):
        self.version = int(np.asarray(state["version"])[0])


def _stamp(model, version):
    for p in model.parameters():
        p.set_value(paddle.full(p.shape, float(version), p.dtype))


def _save_version(prefix, model, version):
    _stamp(model, version)
    save_checkpoint(prefix, model, VersionOptimizer(version), {"version": version})


def _loaded_version(prefix, model):
    """Load ``prefix`` into ``model``; the version, after checking weights, optimizer and JSON agree."""
    opt = VersionOptimizer(-1)
    meta = load_checkpoint(prefix, model, opt)
    weights = {float(v) for p in model.parameters() for v in np.unique(p.numpy())}
    assert weights == {float(meta["version"])}, f"weights {weights} vs JSON {meta}"
    assert opt.version == meta["version"], f"optimizer state {opt.version} vs JSON {meta}"
    return meta["version"]


def _model():
    return paddle.nn.Sequential(paddle.nn.Linear(256, 512), paddle.nn.Linear(512, 64))  # ~0.6 MB of weights


def test_sigkill_at_random_points_keeps_a_whole_checkpoint(tmp_path):
    prefix = str(tmp_path / "latest")
    model = _model()
    _save_version(prefix, model, 0)
    rng = random.Random(0)
    last = 0
    for _ in range(12):
        done_r, done_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: save versions last+1, last+2, ... (a byte on the pipe after each) until killed
            try:
                os.close(done_r)
                version = last + 1
                while True:
                    _save_version(prefix, model, version)
                    os.write(done_w, b".")
                    version += 1
            finally:
                os._exit(1)
        os.close(done_w)
        with os.fdopen(done_r, "rb", buffering=0) as done:
            assert done.read(1) == b".", "the writer died before completing a save"
            started = time.monotonic()
            assert done.read(1) == b"."
            one_save = time.monotonic() - started
            time.sleep(rng.uniform(0.0, one_save))  # a random point of the next save
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the writer ended by itself"
        version = _loaded_version(prefix, model)
        assert version >= last + 2, f"checkpoint went back from version {last + 2} (saved) to {version}"
        last = version
        assert not os.path.exists(prefix + ".commit"), "loading did not finish the interrupted commit"
    _save_version(prefix, model, last + 1)  # the next save removes what killed saves left behind
    assert sorted(os.listdir(tmp_path)) == ["latest.json", "latest.pdopt", "latest.pdparams"]


def test_killed_between_intent_and_renames_rolls_forward(tmp_path, monkeypatch):
    """A kill after the intent file was written completes the new checkpoint on the next load."""
    prefix = str(tmp_path / "latest")
    model = _model()
    _save_version(prefix, model, 1)

    roll_forward, calls = ckpt._roll_forward, []

    def killed_at_second_call(target):  # the 1st call tidies up, the 2nd renames after the intent file
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands in for the kill right after the intent file was written
        roll_forward(target)

    monkeypatch.setattr(ckpt, "_roll_forward", killed_at_second_call)
    with pytest.raises(KeyboardInterrupt):
        _save_version(prefix, model, 2)
    monkeypatch.undo()
    assert os.path.exists(prefix + ".commit")
    assert _loaded_version(prefix, _model()) == 2


def _files(tmp_path):
    return {n: (tmp_path / n).read_bytes() for n in sorted(os.listdir(tmp_path))}


@pytest.mark.parametrize("failing_part", ["paddle.save", "json.dump"])
def test_full_disk_reports_clearly_and_keeps_the_old_checkpoint(tmp_path, monkeypatch, failing_part):
    prefix = str(tmp_path / "latest")
    model = _model()
    _save_version(prefix, model, 1)
    before = _files(tmp_path)

    def disk_full(obj, target, *args, **kwargs):
        if hasattr(target, "write"):
            target.write("{")  # a part of the file got out before the disk filled up
        else:
            with open(target, "wb") as f:
                f.write(b"\x80\x04partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(failing_part, disk_full)
    with pytest.raises(OSError) as info:
        _save_version(prefix, model, 2)
    monkeypatch.undo()
    message = str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert "no space left" in message and "latest" in message, message
    assert "free disk space" in message and "Global.output_dir" in message, message
    assert _files(tmp_path) == before, "the old checkpoint changed or a temporary file was left behind"
    assert _loaded_version(prefix, _model()) == 1


def test_full_disk_on_a_json_side_file_keeps_it(tmp_path, monkeypatch):
    path = tmp_path / "latest.json"
    atomic_json_save({"epoch": 3}, path)

    def disk_full(obj, f, **kwargs):
        f.write('{"ep')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(json, "dump", disk_full)
    with pytest.raises(OSError, match="no space left"):
        atomic_json_save({"epoch": 4}, path)
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"epoch": 3}
    assert os.listdir(tmp_path) == ["latest.json"]
