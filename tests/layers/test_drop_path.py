import numpy as np
import paddle
import pytest

from paddle_conv.layers import DropPath


def test_eval_is_identity_and_training_drops_whole_samples():
    layer = DropPath(0.5)
    x = paddle.ones([400, 3, 2])
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    layer.train()
    paddle.seed(0)
    out = layer(x).numpy()
    per_sample = out.reshape(400, -1)
    # every sample is either dropped (all 0) or kept and rescaled by 1 / (1 - p) = 2
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert all(len(np.unique(row)) == 1 for row in per_sample)
    kept = (per_sample[:, 0] == 2.0).mean()
    assert 0.4 < kept < 0.6  # about 1 - p of the samples survive


def test_zero_rate_is_identity_in_training():
    layer = DropPath(0.0)
    layer.train()
    x = paddle.randn([4, 5])
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


@pytest.mark.parametrize("rate", [-0.1, 1.0])
def test_bad_rate_is_rejected(rate):
    with pytest.raises(ValueError, match="drop_prob"):
        DropPath(rate)
