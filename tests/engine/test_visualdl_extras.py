import glob
import os

import numpy as np

from paddle_conv.config import load_config
from paddle_conv.engine.visualdl_extras import confusion_matrix, hyper_parameters
from tools import train as train_tool

QUICK = os.path.join(os.path.dirname(__file__), "..", "..", "configs", "digits_quick.yaml")


def test_confusion_matrix_rows_are_true_classes():
    m = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_hyper_parameters_are_scalars_visualdl_accepts():
    hp = hyper_parameters(load_config(QUICK, ["Global.epochs=3"]))
    assert hp["arch"] == "oct_mobilenet" and hp["epochs"] == 3 and hp["arch.alpha"] == 0.5
    assert hp["optimizer"] == "Adam" and hp["learning_rate"] == 0.001 and hp["batch_size"] == 64
    assert all(isinstance(v, (int, float, str)) for v in hp.values())


def test_training_logs_graph_confusion_matrix_and_hparams(tmp_path):
    from visualdl import LogReader

    args = ["-c", QUICK, "-o", f"Global.output_dir={tmp_path}", "-o", "Global.epochs=2",
            "-o", "DataLoader.Train.dataset.max_samples=32", "-o", "DataLoader.Train.sampler.batch_size=16",
            "-o", "DataLoader.Eval.dataset.max_samples=24"]
    assert train_tool.main(args) == 0
    vdl = tmp_path / "oct_mobilenet" / "vdl"
    (graph,) = glob.glob(str(vdl / "vdlgraph.*"))
    assert os.path.getsize(graph) > 10_000  # the program of the whole network
    (records,) = glob.glob(str(vdl / "vdlrecords.*"))
    reader = LogReader(file_path=records)
    tags = reader.get_tags()
    assert tags["image"] == ["eval/confusion_matrix"] and tags["text"] == ["eval/confusion_matrix_table"]
    assert len(reader.get_data("image", "eval/confusion_matrix")) == 2  # one per evaluation
    table = reader.get_data("text", "eval/confusion_matrix_table")[-1].text.encoded_text_string
    counts = [int(v) for line in table.splitlines()[2:] for v in line.strip("| ").split(" | ")[1:]]
    assert sum(counts) == 24  # every eval sample once
    (hparams,) = reader.get_data("hyper_parameters", "hparam")
    names = {h.name for h in hparams.hparam.hparamInfos}
    assert {"arch", "learning_rate", "batch_size", "arch.alpha"} <= names
    assert {m.name for m in hparams.hparam.metricInfos} >= {"eval/acc_top1", "eval/loss"}


def test_write_graph_serialises_constants_and_keeps_the_network_eager(tmp_path):
    import json

    import paddle

    from paddle_conv.engine.visualdl_extras import write_graph
    from paddle_conv.layers import OctaveConv

    # first layer splits, last layer merges: its l2h up-sampling bakes a constant 0/1 kernel into the program
    net = paddle.nn.Sequential(OctaveConv(3, 8, 3, alpha_in=0, padding=1), OctaveConv(8, 8, 3, alpha_out=0, padding=1))
    path = write_graph(str(tmp_path), net, [paddle.static.InputSpec([1, 3, 8, 8], "float32", "x")])
    graph = json.load(open(path))
    assert any("conv2d_transpose" in str(node.get("type", "")) for node in graph["nodes"])
    assert "forward" not in net.__dict__  # still the eager forward, not a to_static function
    y_h, y_l = net(paddle.ones([2, 3, 8, 8]))  # another batch size: a traced forward would be fixed to 1
    assert y_h.shape == [2, 8, 8, 8] and y_l is None


def test_write_graph_keeps_the_trainers_to_static_forward(tmp_path):
    """Global.to_static converts ``network.forward`` (full graph) before the graph is written at
    train begin; the graph writer must leave that function, not its own SOT conversion, in place."""
    import paddle

    from paddle_conv.engine.trainer import static_training_forward
    from paddle_conv.engine.visualdl_extras import write_graph

    net = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3), paddle.nn.ReLU())
    static_training_forward(net)
    trainer_forward, original_funcs = net.forward, dict(net._original_funcs)
    write_graph(str(tmp_path), net, [paddle.static.InputSpec([1, 3, 8, 8], "float32", "x")])
    assert net.forward is trainer_forward and type(net.forward.static).__name__ == "ASTStaticFunction"
    assert net._original_funcs == original_funcs  # rollback() still finds the eager forward
    assert net(paddle.ones([2, 3, 8, 8])).shape == [2, 4, 6, 6] and len(net.forward.static.program_cache) == 1
