"""Mixup / CutMix / OpSampler batch ops and the soft-target cross-entropy they feed."""

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_conv.data.batch_ops import BatchCollate, CutmixOperator, MixupOperator, OpSampler, one_hot
from paddle_conv.errors import ConfigError
from paddle_conv.losses import CELoss, MixCELoss


def batch(n=6, classes=4):
    rng = np.random.default_rng(0)
    return rng.random((n, 3, 8, 8)).astype("float32"), np.arange(n) % classes


def test_mixup_blends_images_and_targets_with_the_same_lambda():
    imgs, labels = batch()
    np.random.seed(1)
    mixed, targets = MixupOperator(num_classes=4, alpha=0.4)(imgs, labels)
    np.random.seed(1)
    perm, lam = np.random.permutation(6), np.random.beta(0.4, 0.4)
    np.testing.assert_allclose(mixed, lam * imgs + (1 - lam) * imgs[perm], rtol=1e-6)
    np.testing.assert_allclose(targets, lam * one_hot(labels, 4) + (1 - lam) * one_hot(labels[perm], 4))
    np.testing.assert_allclose(targets.sum(1), 1.0, rtol=1e-6)


def test_cutmix_target_weight_is_the_unpasted_area():
    imgs, labels = batch()
    np.random.seed(3)
    mixed, targets = CutmixOperator(num_classes=4, alpha=1.0)(imgs, labels)
    pasted = np.any(mixed != imgs, axis=(0, 1)).mean()  # fraction of pixels replaced
    own = np.array([targets[i, labels[i]] for i in range(6)])
    assert pasted > 0
    assert np.isclose(own.min(), 1 - pasted, atol=1e-6) or np.allclose(own, 1.0)


def test_opsampler_picks_by_probability_and_validates():
    imgs, labels = batch()
    never = OpSampler(num_classes=4, MixupOperator={"alpha": 0.8, "prob": 0.0})
    _, targets = never(imgs, labels)
    np.testing.assert_array_equal(targets, one_hot(labels, 4))
    always = OpSampler(num_classes=4, MixupOperator={"alpha": 0.8, "prob": 0.0}, CutmixOperator={"alpha": 1.0,
                                                                                                "prob": 1.0})
    np.random.seed(0)
    assert not np.array_equal(always(imgs, labels)[1], one_hot(labels, 4))
    with pytest.raises(ConfigError, match="add up to 1.5"):
        OpSampler(num_classes=4, MixupOperator={"prob": 0.7}, CutmixOperator={"prob": 0.8})
    with pytest.raises(ConfigError, match="Arch.class_num"):
        MixupOperator(num_classes=None)


def test_collate_stacks_and_gives_soft_targets():
    imgs, labels = batch(4)
    samples = [(imgs[i], np.array([labels[i]], "int64")) for i in range(4)]
    x, y = BatchCollate([MixupOperator(num_classes=4)], 4)(samples)
    assert x.shape == (4, 3, 8, 8) and y.shape == (4, 4) and y.dtype == np.float32


def test_celoss_takes_soft_targets_and_smooths_them():
    logits = paddle.to_tensor(np.random.default_rng(1).normal(size=(5, 4)).astype("float32"))
    labels = np.array([0, 1, 2, 3, 1])
    hard = float(CELoss()(logits, paddle.to_tensor(labels[:, None])))
    soft = float(CELoss()(logits, paddle.to_tensor(one_hot(labels, 4))))
    assert soft == pytest.approx(hard, rel=1e-5)
    smooth_hard = float(CELoss(epsilon=0.1)(logits, paddle.to_tensor(labels[:, None])))
    smooth_soft = float(MixCELoss(epsilon=0.1)(logits, paddle.to_tensor(one_hot(labels, 4))))
    assert smooth_soft == pytest.approx(smooth_hard, rel=1e-5)
    t = np.full((5, 4), 0.25, "float32")
    expected = float(-(paddle.to_tensor(t) * F.log_softmax(logits, -1)).sum(-1).mean())
    assert float(MixCELoss()(logits, paddle.to_tensor(t))) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("alpha", [float("nan"), float("inf"), 0.0, -1.0])
def test_mixup_and_cutmix_refuse_an_alpha_that_is_not_a_finite_positive_number(alpha):
    for op in (MixupOperator, CutmixOperator):
        with pytest.raises(ConfigError, match=f"{op.__name__}.alpha: must be a finite number > 0"):
            op(num_classes=4, alpha=alpha)
