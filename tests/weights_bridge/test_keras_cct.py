"""cct_keras_cifar against the seed's Keras 3 model: weights saved by ``model.save_weights`` convert
(Python and tools/convert_weights.py) and give Keras's eval outputs within 1e-4."""

import os

import numpy as np
import paddle
import pytest

import paddle_conv as pc
from paddle_conv.errors import WeightsError
from paddle_conv.io import safe_paddle_load
from tools import convert_weights
from weights_bridge import keras_to_paddle

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras; it is in the test extra)")

from .keras_cct import build_keras_cct  # noqa: E402


@pytest.fixture(scope="module")
def keras_weights(tmp_path_factory):
    """The seed's Keras model with every weight randomised (biases, norms too), and its file."""
    model = build_keras_cct()
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(0.0, 0.2, weight.shape).astype("float32"))
    path = tmp_path_factory.mktemp("keras") / "model.weights.h5"
    model.save_weights(str(path))
    return model, path


def _images():
    return np.random.default_rng(1).integers(0, 256, (3, 32, 32, 3)).astype("float32")


def _max_diff(keras_model, state):
    images = _images()
    expected = keras_model(images, training=False).detach().cpu().numpy()
    model = pc.create_model("cct_keras_cifar")
    missing, unexpected = model.set_state_dict(state)
    assert not missing and not unexpected
    model.eval()
    with paddle.no_grad():
        out = model(paddle.to_tensor(images.transpose(0, 3, 1, 2) / 255.0)).numpy()
    assert np.abs(expected).max() > 1.0  # not a degenerate comparison
    return float(np.abs(out - expected).max())


def test_converted_weights_give_keras_outputs(keras_weights):
    keras_model, path = keras_weights
    assert keras_model.count_params() == 416_331
    assert _max_diff(keras_model, keras_to_paddle(str(path))) < 1e-4


def test_convert_weights_tool_writes_pdparams(keras_weights, tmp_path, capsys):
    keras_model, path = keras_weights
    dst = tmp_path / "out.pdparams"
    assert convert_weights.main(["--model", "cct_keras_cifar", "--src", str(path), "--dst", str(dst)]) == 0
    assert "keras to paddle" in capsys.readouterr().out
    assert _max_diff(keras_model, safe_paddle_load(str(dst))) < 1e-4


def test_bad_files_are_refused(keras_weights, tmp_path, capsys):
    _, path = keras_weights
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(WeightsError, match="cannot read"):
        keras_to_paddle(str(junk))
    with pytest.raises(WeightsError, match="does not fit"):
        keras_to_paddle(str(path), num_classes=100)
    with pytest.raises(WeightsError, match="no Keras weights converter"):
        keras_to_paddle(str(path), model="cct_2_3x2_32")
    dst = tmp_path / "out.pdparams"
    assert convert_weights.main(["--model", "cct_keras_cifar", "--src", str(junk), "--dst", str(dst)]) == 2
    assert capsys.readouterr().err.startswith("error: ") and not dst.exists()
