import os

import pytest
from paddle.utils import cpp_extension

from paddle_conv import notes
from paddle_conv.layers import native_ops


def test_build_refuses_a_folder_others_can_write(monkeypatch, tmp_path):
    home = tmp_path / "home"
    (home / "ops").mkdir(parents=True)
    os.chmod(home / "ops", 0o777)
    monkeypatch.setenv("PADDLE_CONV_HOME", str(home))
    monkeypatch.setattr(cpp_extension, "load", lambda **kwargs: pytest.fail("built there"))
    monkeypatch.delitem(notes.NOTES, "octave_resample", raising=False)
    assert native_ops.build_library("octave_resample", "Paddle's pooling") is False
    assert "others can write to it: Paddle's pooling is used" in notes.NOTES["octave_resample"]
    own = tmp_path / "own" / "ops" / "onednn_conv2d"
    assert native_ops._private_folder(own) and own.stat().st_mode & 0o777 == 0o700


def test_env_var_turns_the_operators_off(monkeypatch):
    monkeypatch.setenv(native_ops.NATIVE_OPS_ENV, "0")
    assert not native_ops.native_ops_enabled()
    monkeypatch.setenv(native_ops.NATIVE_OPS_ENV, "1")
    assert native_ops.native_ops_enabled()


def test_operators_that_fail_or_disagree_fall_back_with_one_note(monkeypatch):
    monkeypatch.delenv(native_ops.NATIVE_OPS_ENV, raising=False)
    monkeypatch.setattr(native_ops, "build_library", lambda *args: 1 / 0)
    monkeypatch.delitem(notes.NOTES, "probe.failed", raising=False)
    assert native_ops.built_and_checked("probe", "Paddle's probe", lambda: True) is False
    assert "could not be built (ZeroDivisionError); Paddle's probe is used" in notes.NOTES["probe.failed"]
    monkeypatch.setattr(native_ops, "build_library", lambda *args: True)
    monkeypatch.delitem(notes.NOTES, "probe.failed")
    assert native_ops.built_and_checked("probe", "Paddle's probe", lambda: False) is False
    assert "results differ from Paddle's probe" in notes.NOTES["probe.failed"]
    assert native_ops.built_and_checked("probe", "Paddle's probe", lambda: True) is True
    monkeypatch.setenv(native_ops.NATIVE_OPS_ENV, "0")
    assert native_ops.built_and_checked("probe", "Paddle's probe", lambda: True) is False


def test_the_check_takes_gradients_when_first_asked_under_no_grad(monkeypatch):
    import paddle

    monkeypatch.delenv(native_ops.NATIVE_OPS_ENV, raising=False)
    monkeypatch.setattr(native_ops, "build_library", lambda *args: True)
    with paddle.no_grad():  # an evaluation's forward may be the first to ask
        assert native_ops.built_and_checked("probe", "Paddle's probe", paddle.is_grad_enabled) is True
