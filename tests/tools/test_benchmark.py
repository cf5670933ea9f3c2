import os

import numpy as np
import pytest

import paddle_conv as pc
from paddle_conv.benchmark import macs_per_image
from tools import benchmark


def _tiny(*extra):
    return benchmark.parse_args(["--models", "oct_mobilenet,mobilenet_v1", "--size", "32", "--runs", "1",
                                 "--warmup", "0", "--num-classes", "10", *extra])


def test_tiny_run_fills_every_column_and_ratio_for_each_batch():
    args = _tiny("--paths", "dygraph,onnxruntime", "--batch", "1,2")
    result = benchmark.run(args, log=lambda s: None)
    rows = {(r["model"], r["path"], r["batch"]): r for r in result["rows"]}
    paths = ("dygraph", "onnxruntime")
    assert set(rows) == {(m, p, b) for m in ("oct_mobilenet", "mobilenet_v1") for p in paths for b in (1, 2)}
    oct_row, base_row = rows["oct_mobilenet", "dygraph", 2], rows["mobilenet_v1", "dygraph", 2]
    assert oct_row["ratio"] == pytest.approx(oct_row["median_ms"] / base_row["median_ms"])
    assert base_row["ratio"] is None
    assert 0 < oct_row["gmacs"] < base_row["gmacs"]
    assert oct_row["p90_ms"] >= oct_row["median_ms"] > 0 and oct_row["peak_mib"] > 0
    whats = [s["what"] for s in result["summary"]]
    for batch in (1, 2):
        for path in paths:
            assert f"oct_mobilenet / mobilenet_v1 infer bs{batch}, {path}" in whats
        assert f"oct_mobilenet / mobilenet_v1 infer bs{batch}, fastest path of each" in whats
    table = benchmark.format_table(result["rows"])
    assert "oct_mobilenet | onnxruntime" in table and "GMACs/img" in table


def test_train_and_amp_rows_on_cpu():
    args = _tiny("--paths", "dygraph,static,inference", "--mode", "infer,train", "--amp", "off,on",
                 "--models", "tiny_cnn")
    args.baselines = {}
    result = benchmark.run(args, log=lambda s: None)
    got = {(r["path"], r["mode"]) for r in result["rows"]}
    assert got == {("dygraph", "infer"), ("static", "infer"), ("inference", "infer"), ("dygraph", "train"),
                   ("static", "train"), ("dygraph+amp", "infer"), ("static+amp", "infer"), ("dygraph+amp", "train"),
                   ("static+amp", "train")}


def test_torch_with_harness_and_default_settings_and_the_faster_in_the_summary():
    args = benchmark.parse_args(["--models", "oct_resnet26", "--paths", "dygraph,torch,torch-default", "--size", "64",
                                 "--runs", "1", "--warmup", "0", "--num-classes", "10"])
    result = benchmark.run(args, log=lambda s: None)
    rows = {r["path"]: r for r in result["rows"]}
    assert set(rows) == {"dygraph", "torch", "torch-default"}
    (line,) = [s for s in result["summary"] if "torch reference" in s["what"]]
    faster = min(rows["torch"]["median_ms"], rows["torch-default"]["median_ms"])
    assert line["ratio"] == pytest.approx(rows["dygraph"]["median_ms"] / faster)


def test_macs_follow_the_published_counts():
    import paddle_conv as pc

    assert macs_per_image(pc.create_model("resnet50"), 224) / 1e9 == pytest.approx(4.09, abs=0.02)
    assert macs_per_image(pc.create_model("oct_resnet50"), 224) / 1e9 == pytest.approx(2.37, abs=0.03)


@pytest.mark.parametrize("argv,message", [
    (["--models", "a,b", "--baseline", "c"], "not among --models"),
    (["--models", "a", "--paths", "onnx"], "unknown path"),
    (["--models", "a", "--runs", "0"], ">= 1"),
    (["--models", "a", "--batch", "1,x"], "comma-separated integers"),
    (["--models", "a", "--batch", "0"], ">= 1"),
    (["--models", "a", "--amp", "maybe"], "unknown amp"),
    (["--models", "a", "--mode", "eval"], "unknown mode"),
    (["--models", "a", "--octconv", "merge_lo+dense"], "--octconv: unknown OctConv formulation 'merge_lo+dense'"),
])
def test_bad_arguments_say_what_to_fix(argv, message, capsys):
    with pytest.raises(SystemExit):
        benchmark.parse_args(argv)
    assert message in capsys.readouterr().err


def test_train_rows_give_ours_over_torch_ratios_and_say_when_torch_is_missing(monkeypatch):
    from paddle_conv.benchmark import training

    rows = [training.TrainRow("tiny_cnn", 2, 32, 10)]
    result = training.run_train(rows, ("dygraph", "torch", "dygraph-1t"), runs=2, warmup=1, threads=2,
                                log=lambda s: None)
    assert result["missing"] is None and "cores" in result["machine"]["cpu"]
    ours, ref, one_thread = result["rows"]
    assert (ours["path"], ref["path"], one_thread["path"]) == ("dygraph", "torch", "dygraph-1t")
    for row in (ours, one_thread):
        assert row["ratio"] == pytest.approx(row["wall_ms"] / ref["wall_ms"])
    assert ref["ratio"] is None

    real_find_spec = training.importlib.util.find_spec
    monkeypatch.setattr(training.importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real_find_spec(name, *a))
    ssd = training.TrainRow("ssd300_vgg16", 1, 300, 21, detection=True, builder_args=(("width", 0.0625),))
    result = training.run_train([ssd], ("dygraph", "torch"), runs=1, warmup=0, threads=1, log=lambda s: None)
    assert [r["path"] for r in result["rows"]] == ["dygraph"] and result["rows"][0]["ratio"] is None
    assert "torch is not installed" in result["missing"]
    assert "torch: missing" in training.format_train_table(result)


@pytest.mark.parametrize("argv,message", [
    (["--train", "--models", "resnet18"], "not a training row"),
    (["--train", "--paths", "onnxruntime"], "choose from dygraph, static, torch"),
    ([], "--models is required"),
])
def test_train_flag_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        benchmark.parse_args(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_paddle_kernels_path_turns_the_native_operators_off_for_its_step_only(monkeypatch):
    from paddle_conv.benchmark import training
    from paddle_conv.layers.native_ops import NATIVE_OPS_ENV, native_ops_enabled

    seen = []
    monkeypatch.setattr(training, "training_step", lambda *args: lambda: seen.append(native_ops_enabled()))
    monkeypatch.setenv(NATIVE_OPS_ENV, "1")
    row = training.TrainRow("tiny_cnn", 2, 32, 10)
    x, y = np.zeros([2, 3, 32, 32], "float32"), np.zeros([2], "int64")
    for path in ("paddle-kernels", "dygraph-1t"):
        training._paddle_step(row, pc.create_model("tiny_cnn", num_classes=10), path, x, y, threads=2)()
    assert seen == [False, True] and os.environ[NATIVE_OPS_ENV] == "1"
