"""tools/benchmark_det_loss.py: a tiny run fills every row, ratio and table line."""

import pytest

from tools import benchmark_det_loss as bench


def test_tiny_run_gives_every_row_and_ratio():
    rows = bench.benchmark(batch=2, repeats=1)  # (main() also fixes the process's thread counts)
    assert [(r["loss"], r["implementation"]) for r in rows] == [
        (loss, impl) for loss in ("MultiBoxLoss", "MultiBoxLoss_KD") for impl in bench.IMPLEMENTATIONS
    ]
    for loss in ("MultiBoxLoss", "MultiBoxLoss_KD"):
        vec, torch_loop, paddle_loop = [r for r in rows if r["loss"] == loss]
        assert vec["x_wall"] == vec["x_cpu"] == 1.0
        assert torch_loop["x_wall"] == pytest.approx(torch_loop["wall_ms"] / vec["wall_ms"])
        assert paddle_loop["x_cpu"] == pytest.approx(paddle_loop["cpu_ms"] / vec["cpu_ms"])
        assert all(r["wall_ms"] > 0 for r in (vec, torch_loop, paddle_loop))
    table = bench.format_table(rows).splitlines()
    assert table[0] == "| loss | implementation | wall ms | cpu ms | x wall | x cpu |"
    assert len(table) == 2 + len(rows) and table[3].startswith("| MultiBoxLoss | torch loop | ")


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--threads", "0"])
    assert ">= 1" in capsys.readouterr().err
