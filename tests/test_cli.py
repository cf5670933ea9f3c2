"""paddle_conv.cli.run_cli: bad input is one ``error:`` line and exit 2; a bug is a traceback and exit 1."""

import errno

import pytest

from paddle_conv.cli import MAX_MESSAGE, run_cli
from paddle_conv.config.values import check_output_dir
from paddle_conv.errors import ConfigError, OutputError


def _raising(exc):
    def main(argv):
        raise exc

    return main


@pytest.mark.parametrize("exc, text", [
    (ConfigError("Global.epochs: must be >= 1\nsecond line"), "error: Global.epochs: must be >= 1 second line"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/no/such"), "error: '/no/such': No such file"),
    (OutputError(errno.ENOSPC, "no space left on the device while writing 'x'"), "error: no space left"),
    (IsADirectoryError(errno.EISDIR, "Is a directory", "d"), "error: 'd': Is a directory"),
])
def test_bad_input_is_one_error_line_and_exit_2(capsys, exc, text):
    assert run_cli(_raising(exc), []) == 2
    err = capsys.readouterr().err
    assert err.startswith(text) and err.count("\n") == 1 and "Traceback" not in err


def test_a_bug_is_a_traceback_a_bug_report_line_and_exit_1(capsys):
    assert run_cli(_raising(ZeroDivisionError("division by zero")), []) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "please report it" in err
    assert not any(line.startswith("error:") for line in err.splitlines())


def test_an_os_error_that_is_not_about_the_users_paths_is_a_bug(capsys):
    assert run_cli(_raising(OSError(errno.EBADF, "Bad file descriptor")), []) == 1
    assert "please report it" in capsys.readouterr().err


def test_messages_are_bounded_and_status_passes_through(capsys):
    assert run_cli(_raising(ConfigError("x" * 10**6)), []) == 2
    assert len(capsys.readouterr().err) < MAX_MESSAGE + 100
    assert run_cli(lambda argv: None, []) == 0 and run_cli(lambda argv: 3, []) == 3
    assert run_cli(_raising(KeyboardInterrupt()), []) == 130


def test_a_read_only_output_dir_is_refused_at_config_time(tmp_path, monkeypatch):
    monkeypatch.setattr("os.access", lambda path, mode: False)  # as a non-root user on a read-only folder
    with pytest.raises(ConfigError, match=r"Global\.output_dir: .* is not writable"):
        check_output_dir("cfg.yaml", tmp_path / "runs")
