"""MultiLabelLoss against its formula (PaddleClas's ``ppcls/loss/multilabelloss.py``)."""

import numpy as np
import paddle

from paddle_conv.losses import LOSSES


def _bce(logits, labels):
    p = 1 / (1 + np.exp(-logits))
    return -(labels * np.log(p) + (1 - labels) * np.log(1 - p))


def test_multi_label_loss_weighs_rare_attributes_and_sums_over_them():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 3)).astype("float32")
    labels = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 1]], dtype="float32")
    ratio = labels.mean(0)
    plain = LOSSES.build("MultiLabelLoss")(paddle.to_tensor(logits), paddle.to_tensor(labels))
    np.testing.assert_allclose(float(plain), _bce(logits, labels).mean(), rtol=1e-5)

    weights = np.exp(labels * (1 - ratio) + (1 - labels) * ratio)
    target = paddle.to_tensor(np.stack([labels, np.broadcast_to(ratio, labels.shape)], axis=1))  # [N, 2, C]
    weighted = LOSSES.build("MultiLabelLoss", size_sum=True, weight_ratio=True)(paddle.to_tensor(logits), target)
    np.testing.assert_allclose(float(weighted), (_bce(logits, labels) * weights).sum(1).mean(), rtol=1e-5)

    smoothed = LOSSES.build("MultiLabelLoss", epsilon=0.1)(paddle.to_tensor(logits), paddle.to_tensor(labels))
    np.testing.assert_allclose(float(smoothed), _bce(logits, labels * 0.9 + 0.1 / 3).mean(), rtol=1e-5)
