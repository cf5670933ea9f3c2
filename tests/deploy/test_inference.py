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
