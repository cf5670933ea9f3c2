"""benchmarks/gpu_check.sh cannot run here (no GPU): its syntax, arguments and the commands it would
run are checked; the benchmark's --mode/--amp part runs on CPU in tests/tools/test_benchmark.py."""

import os
import shlex
import subprocess
import sys

import pytest

from tools import benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu_check.sh")


def _run(*args):
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ROOT})


def test_script_syntax():
    assert subprocess.run(["bash", "-n", SCRIPT]).returncode == 0


def test_dry_run_prints_valid_commands_for_the_four_models(tmp_path):
    done = _run("--dry-run", "--python", sys.executable, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    commands = [shlex.split(line[2:]) for line in done.stdout.splitlines() if line.startswith("+ ")]
    assert [c[1] for c in commands] == ["tools/train.py", "tools/benchmark.py"]
    assert "Global.epochs=2" in commands[0] and "configs/oct_mobilenet.yaml" in commands[0]
    args = benchmark.parse_args(commands[1][2:])  # the benchmark accepts the arguments the script passes
    assert args.models == ["resnet50", "oct_resnet50", "mobilenet_v1", "oct_mobilenet"]
    assert args.batch == [1, 32, 128] and args.mode == ["infer", "train"] and args.amp == [False, True]
    assert os.listdir(tmp_path) == []  # nothing ran


@pytest.mark.parametrize("argv,message", [
    (["--bogus"], "unknown argument '--bogus'"),
    (["--budget"], "--budget needs a value"),
    (["--budget", "5"], "must be a whole number of seconds >= 60"),
])
def test_bad_arguments_exit_2_with_one_error_line(argv, message):
    done = _run(*argv)
    assert done.returncode == 2
    assert done.stderr.count("error:") == 1 and message in done.stderr


def test_refuses_to_run_without_a_gpu(tmp_path):
    done = _run("--python", sys.executable, "--out", str(tmp_path))
    assert done.returncode == 2 and "error: Paddle sees no GPU" in done.stderr
    assert "+ " not in done.stdout
