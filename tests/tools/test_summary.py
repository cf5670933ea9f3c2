import json

import paddle.nn as nn
import pytest

import paddle_conv as pc
from paddle_conv.pretrained.download import download_path
from paddle_conv.registry import model_card
from paddle_conv.summary import count_macs, format_summary, summarize
from tools import summary as summary_tool


def test_count_macs_of_one_convolution_is_the_textbook_formula():
    conv = nn.Conv2D(3, 8, 3, padding=1, bias_attr=False)
    # every output pixel of every output channel: 3 x 3 x 3 multiply-accumulates
    assert count_macs(conv, [1, 3, 10, 12]) == 8 * 10 * 12 * 3 * 3 * 3



def test_count_macs_counts_a_subclass_of_a_known_layer_as_that_layer():
    from paddle_conv.layers.depthwise import DepthwiseConv2D
    layers = [cls(8, 8, 3, padding=1, groups=8, bias_attr=False) for cls in (nn.Conv2D, DepthwiseConv2D)]
    plain, fast = (count_macs(layer, [1, 8, 10, 12]) for layer in layers)
    assert fast == plain == 8 * 10 * 12 * 9


@pytest.mark.parametrize("name", ["cct_2_3x2_32", "pplcnet_x1_0"])
def test_summary_agrees_with_the_paper_where_known(name):
    info = summarize(name)  # paper setting: 32x32, 10 classes (CCT); 224x224, 1000 classes (PP-LCNet)
    paper = model_card(name).paper
    assert info["paper"] == paper
    assert info["params"] == pytest.approx(paper["params"], rel=0.02)  # PP-LCNet: 2.95 M, "3.0" in the paper
    assert info["macs"] == pytest.approx(paper["macs"], rel=0.05)


def test_summary_at_a_custom_setting_has_stages_and_no_paper_figure():
    info = summarize("oct_mobilenet", size=32, num_classes=10)
    assert info["input_shape"] == [1, 3, 32, 32]
    assert [name for name, _ in info["stages"]] == ["features", "avgpool", "fc"]
    assert info["stages"][0][1] == [[1, 1024, 1, 1], None]  # octave output: high branch only at the end
    assert info["stages"][-1][1] == [1, 10]
    assert info["paper"] is None  # the paper reports 224x224 / 1000 classes only
    assert "no published figure" in format_summary(info)


def test_cli_prints_json_and_rejects_unknown_names(capsys):
    assert summary_tool.main(["oct_mobilenet", "--size", "32", "--num-classes", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num_classes"] == 10
    assert summary_tool.main(["oct_mobilenet", "--size", "32", "--num_classes", "3", "--json"]) == 0  # old spelling
    assert json.loads(capsys.readouterr().out)["num_classes"] == 3
    assert summary_tool.main(["oct_resnet5"]) == 2
    assert "Did you mean: oct_resnet50" in capsys.readouterr().err


def test_cli_prints_the_card(capsys):
    assert summary_tool.main(["ssd_lite", "--card"]) == 0
    out = capsys.readouterr().out
    assert "task:              detection" in out and "input size:        3x300x300" in out
    assert summary_tool.main(["oct_resnet50", "--card", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["upstream"] == "d-li14/octconv.pytorch" and card["classifier"] == "fc"
    assert [w["name"] for w in card["weights"]] == ["imagenet_cosine"]
    assert card["pretrained"][0]["cached"] is False


def test_cli_lists_published_weights_and_whether_cached(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PADDLE_CONV_HOME", str(tmp_path))
    entry = pc.model_card("resnet50").weights[0]
    cached = download_path(entry.file_name, entry.urls, entry.sha256, entry.md5)
    cached.parent.mkdir()
    cached.write_bytes(b"x")
    assert summary_tool.main(["resnet50", "--card"]) == 0
    out = capsys.readouterr().out
    assert "pretrained='paddle_imagenet': imagenet-1k, not published, PaddlePaddle/Paddle" in out
    assert f"cached: {cached}" in out and "pretrained='imagenet_torchvision_v1'" in out
    assert summary_tool.main(["tiny_cnn", "--card"]) == 0
    assert "published weights: none" in capsys.readouterr().out
