"""transform_ops: ``ToTensor`` gives Paddle's values as a NumPy array (no per-image paddle tensors)."""

import numpy as np
import paddle
import paddle.vision.transforms as T
import pytest
from PIL import Image

from paddle_conv.data.transforms import build_transforms


@pytest.mark.parametrize("mode, data_format", [("RGB", "CHW"), ("L", "CHW"), ("RGB", "HWC")])
def test_to_tensor_then_normalize_equals_paddles_as_numpy(mode, data_format):
    pixels = np.random.RandomState(0).randint(0, 256, (5, 7, 3)).astype("uint8")
    img = Image.fromarray(pixels).convert(mode)
    mean, std = [0.5, 0.4, 0.3][: len(mode)], [0.2, 0.3, 0.5][: len(mode)]
    ops = [{"ToTensor": {"data_format": data_format}},
           {"Normalize": {"mean": mean, "std": std, "data_format": data_format}}]
    ours = build_transforms(ops)(img)
    ref = T.Compose([T.ToTensor(data_format), T.Normalize(mean, std, data_format)])(img).numpy()
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float32
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_to_tensor_creates_no_paddle_tensor(monkeypatch):
    """Paddle 3.3's ``paddle.to_tensor`` keeps ~100 bytes per call: per image, that is a leak."""

    def refuse(*args, **kwargs):
        raise AssertionError("paddle.to_tensor called per image")

    monkeypatch.setattr(paddle, "to_tensor", refuse)
    ops = [{"ToTensor": None}, {"Normalize": {"mean": [0.5] * 3, "std": [0.5] * 3}}]
    out = build_transforms(ops)(Image.new("RGB", (4, 4), (255, 0, 128)))
    np.testing.assert_allclose(out[:, 0, 0], [1.0, -1.0, 128 / 255 * 2 - 1], atol=1e-6)
