import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.deploy import Predictor, export_model
from paddle_conv.errors import WeightsError


def test_export_and_predict_match_dygraph(tmp_path):
    model = pc.create_model("oct_mobilenet", num_classes=10)
    model.eval()
    files = export_model(model, str(tmp_path / "inference"))
    assert all(f.startswith(str(tmp_path)) for f in files)
    predictor = Predictor(str(tmp_path / "inference"), device="cpu", threads=1)
    for shape in [(2, 3, 64, 64), (1, 3, 33, 47)]:  # dynamic batch and size, odd sizes included
        x = np.random.RandomState(0).randn(*shape).astype("float32")
        (y,) = predictor(x)
        np.testing.assert_allclose(y, model(paddle.to_tensor(x)).numpy(), rtol=1e-5, atol=1e-5)


def test_missing_export_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="no exported model .* run tools/export.py first"):
        Predictor(str(tmp_path / "nothing"))


class _HeadsConcat(paddle.nn.Layer):
    """Two maps flattened the SSD way with an explicit batch, ``reshape([1, -1, 4])``, then concatenated:
    Paddle 3.3's oneDNN operator_reshape_onednn_fuse_pass mistypes this program (the predictor refuses it)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = paddle.nn.Conv2D(3, 16, 3, 16, 1), paddle.nn.Conv2D(16, 16, 3, 2, 1)

    def forward(self, x):
        y = self.a(x)
        z = self.b(y)
        return paddle.concat([m.transpose([0, 2, 3, 1]).reshape([1, -1, 4]) for m in (y, z)], axis=1)


def test_mkldnn_false_really_runs_without_onednn(tmp_path):
    model = _HeadsConcat()
    export_model(model, str(tmp_path / "inference"), [1, 3, 64, 64])
    x = np.random.RandomState(0).randn(1, 3, 64, 64).astype("float32")
    (y,) = Predictor(str(tmp_path / "inference"), device="cpu", threads=1, mkldnn=False)(x)
    np.testing.assert_allclose(y, model(paddle.to_tensor(x)).numpy(), rtol=1e-5, atol=1e-5)
