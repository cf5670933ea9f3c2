"""Global.pretrained_model: weights only, every skipped key reported by name."""

import paddle
import pytest

from paddle_conv.engine import save_checkpoint
from paddle_conv.errors import WeightsError
from paddle_conv.state_dict import format_load_report, load_pretrained


class Net(paddle.nn.Layer):
    def __init__(self, classes, extra=False):
        super().__init__()
        self.body = paddle.nn.Linear(4, 3)
        self.fc = paddle.nn.Linear(3, classes)
        if extra:
            self.head = paddle.nn.Linear(3, 2)


def test_report_names_missing_unexpected_and_misshaped(tmp_path):
    source = Net(10, extra=True)
    save_checkpoint(str(tmp_path / "w"), source, meta={"epoch": 1})
    target = Net(5)
    del target.body.bias  # absent from the model: the file's body.bias becomes "unexpected"
    target.extra = paddle.nn.Linear(1, 1)
    report = load_pretrained(target, tmp_path / "w.pdparams")
    assert report["loaded"] == ["body.weight"]
    assert report["missing"] == ["extra.weight", "extra.bias"]
    assert report["unexpected"] == ["body.bias", "head.bias", "head.weight"]
    assert report["mismatched"] == [("fc.weight", [3, 5], [3, 10]), ("fc.bias", [5], [10])]
    assert paddle.allclose(target.body.weight, source.body.weight)
    lines = format_load_report(report)
    assert "mis-shaped (ignored): fc.weight: model [3, 5] vs file [3, 10]" in lines
    assert any(line.startswith("unexpected in file (ignored): body.bias, head.bias") for line in lines)


def test_nothing_in_common_is_an_error(tmp_path):
    save_checkpoint(str(tmp_path / "w"), paddle.nn.Linear(2, 2))
    with pytest.raises(WeightsError, match="share no parameter"):
        load_pretrained(paddle.nn.Conv2D(1, 1, 1), str(tmp_path / "w"))
    (tmp_path / "junk.pdparams").write_bytes(b"\x00garbage")
    with pytest.raises(WeightsError, match="cannot read pretrained weights .*junk.pdparams"):
        load_pretrained(paddle.nn.Linear(2, 2), str(tmp_path / "junk"))
