import pytest

from tools import benchmark


def test_tiny_run_fills_every_column_and_ratio():
    args = benchmark.parse_args(["--models", "oct_resnet26,resnet50", "--baseline", "oct_resnet26=resnet50",
                                 "--paths", "dygraph,inference", "--size", "32", "--runs", "1", "--warmup", "0",
                                 "--num-classes", "10"])
    result = benchmark.run(args, log=lambda s: None)
    rows = {(r["model"], r["path"]): r for r in result["rows"]}
    assert set(rows) == {(m, p) for m in ("oct_resnet26", "resnet50") for p in ("dygraph", "inference")}
    oct_row, base_row = rows["oct_resnet26", "dygraph"], rows["resnet50", "dygraph"]
    assert oct_row["ratio"] == pytest.approx(oct_row["median_ms"] / base_row["median_ms"])
    assert base_row["ratio"] is None
    assert 0 < oct_row["gmacs"] < base_row["gmacs"]
    assert oct_row["p90_ms"] >= oct_row["median_ms"] > 0 and oct_row["peak_mib"] > 0
    assert [s["what"] for s in result["summary"]] == ["oct_resnet26 / resnet50 infer, fastest Paddle path of each"]
    table = benchmark.format_table(result["rows"])
    assert "oct_resnet26 | inference" in table and "GMACs/img" in table


def test_macs_follow_the_published_counts():
    import paddle_conv as pc

    assert benchmark.macs_per_image(pc.create_model("resnet50"), 224) / 1e9 == pytest.approx(4.09, abs=0.02)
    assert benchmark.macs_per_image(pc.create_model("oct_resnet50"), 224) / 1e9 == pytest.approx(2.37, abs=0.03)


@pytest.mark.parametrize("argv,message", [
    (["--models", "a,b", "--baseline", "c"], "not among --models"),
    (["--models", "a", "--paths", "onnx"], "unknown path"),
    (["--models", "a", "--runs", "0"], ">= 1"),
])
def test_bad_arguments_say_what_to_fix(argv, message, capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(argv)
    assert message in capsys.readouterr().err
