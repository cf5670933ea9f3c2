"""MultiBoxLoss / MultiBoxLoss_KD against the per-image torch references (rtol 1e-5)."""

import numpy as np
import paddle
import pytest
import torch

from paddle_conv.det import VOC_SSD300, prior_boxes
from paddle_conv.errors import ConfigError, DataError
from paddle_conv.losses import LOSSES, MultiBoxLoss, MultiBoxLoss_KD, kd_total
from paddle_conv.losses.multibox import background_loss
from weights_bridge.references.ssd_loss_torch import MultiBoxLossKDReference, MultiBoxLossReference

NUM_CLASSES = 21


def random_targets(rng, counts):
    out = []
    for n in counts:
        xy = rng.uniform(0.0, 0.7, (n, 2))
        wh = rng.uniform(0.03, 0.5, (n, 2))
        labels = rng.integers(0, NUM_CLASSES - 1, (n, 1))
        out.append(np.concatenate([xy, np.minimum(xy + wh, 1.0), labels], 1).astype("float32").reshape(n, 5))
    return out


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(7)
    priors = prior_boxes(VOC_SSD300).numpy()
    counts = [0] + list(range(1, 11))  # an image without objects, then 1..10 objects
    b, p = len(counts), priors.shape[0]
    return dict(
        priors=priors,
        targets=random_targets(rng, counts),
        loc=rng.normal(size=(b, p, 4)).astype("float32"),
        conf=rng.normal(size=(b, p, NUM_CLASSES)).astype("float32") * 2,
        loc_teacher=rng.normal(size=(b, p, 4)).astype("float32"),
        conf_teacher=rng.normal(size=(b, p, NUM_CLASSES)).astype("float32") * 2,
    )


def as_paddle(batch, *keys):
    return tuple(paddle.to_tensor(batch[k], stop_gradient=False) for k in keys)


def as_torch(batch, *keys):
    return tuple(torch.tensor(batch[k], requires_grad=True) for k in keys)


def test_multibox_matches_reference(batch):
    loc, conf, priors = as_paddle(batch, "loc", "conf", "priors")
    ours = MultiBoxLoss(NUM_CLASSES)((loc, conf, priors), [paddle.to_tensor(t) for t in batch["targets"]])
    tloc, tconf, tpriors = as_torch(batch, "loc", "conf", "priors")
    ref = MultiBoxLossReference(NUM_CLASSES)(
        (tloc, tconf, tpriors), [torch.tensor(t) for t in batch["targets"]]
    )
    for a, b in zip(ours, ref):
        assert np.isfinite(float(a))
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)
    # gradients agree too
    sum(ours).backward()
    sum(ref).backward()
    np.testing.assert_allclose(conf.grad.numpy(), tconf.grad.numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(loc.grad.numpy(), tloc.grad.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("kw", [{}, {"neg_w": 1.0, "pos_w": 2.0, "T": 3.0, "reg_m": 0.5}])
def test_multibox_kd_matches_reference(batch, kw):
    loc, conf, priors, lt, ct = as_paddle(batch, "loc", "conf", "priors", "loc_teacher", "conf_teacher")
    ours = MultiBoxLoss_KD(NUM_CLASSES, **kw)((loc, conf, priors), (lt, ct), batch["targets"])
    tloc, tconf, tpriors, tlt, tct = as_torch(batch, "loc", "conf", "priors", "loc_teacher", "conf_teacher")
    ref = MultiBoxLossKDReference(NUM_CLASSES, **kw)(
        (tloc, tconf, tpriors), (tlt, tct), [torch.tensor(t) for t in batch["targets"]]
    )
    assert len(ours) == 4
    for a, b in zip(ours, ref):
        assert np.isfinite(float(a)) and float(a) > 0
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)
    kd_total(ours).backward()
    assert lt.grad is None or not np.any(lt.grad.numpy())  # the teacher gets no gradient
    soft, l2, loss_c, loss_l = ref
    (0.3 * soft + 0.7 * loss_c + 0.5 * l2 + loss_l).backward()  # kd_total's default weights
    np.testing.assert_allclose(conf.grad.numpy(), tconf.grad.numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(loc.grad.numpy(), tloc.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_extreme_logits_match_reference(batch):
    """Logits up to ~+-500: the mining loss leaves exp's float32 range (max-shifted path) and the
    cross-entropies and KL reach hundreds (where Paddle's own log_softmax stops at -64)."""
    conf = batch["conf"] * 75
    conf[3, :50, 0] = -200.0
    conf[4, :50, 5] = 200.0
    inputs = {**batch, "conf": conf, "conf_teacher": batch["conf_teacher"] * 50}
    keys = "loc", "conf", "priors", "loc_teacher", "conf_teacher"
    loc, conf, priors, lt, ct = as_paddle(inputs, *keys)
    tloc, tconf, tpriors, tlt, tct = as_torch(inputs, *keys)
    targets = [torch.tensor(t) for t in batch["targets"]]
    pairs = [
        (
            MultiBoxLoss()((loc, conf, priors), batch["targets"]),
            MultiBoxLossReference()((tloc, tconf, tpriors), targets),
        ),
        (
            MultiBoxLoss_KD(T=2.0)((loc, conf, priors), (lt, ct), batch["targets"]),
            MultiBoxLossKDReference(T=2.0)((tloc, tconf, tpriors), (tlt, tct), targets),
        ),
    ]
    for ours, ref in pairs:
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)


def test_background_loss_is_exact_where_exp_leaves_float32():
    rng = np.random.default_rng(3)
    conf = rng.normal(size=(2, 50, 6)).astype("float32")
    conf[0, :5] += 150.0  # sums overflow
    conf[1, :5] -= 150.0  # sums underflow
    conf[1, 5, 2] = 120.0  # one class far above the background
    expected = np.log(np.exp(conf.astype("float64") - 100).sum(-1)) + 100 - conf[..., 0]
    got = background_loss(paddle.to_tensor(conf), block=16)  # several blocks
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-5)


def test_empty_batch_mines_negatives_for_hard(batch):
    """No object in the batch: the seed's 100 hard negatives per image, N = 1; 0 gives zeros."""
    keys = "loc", "conf", "priors", "loc_teacher", "conf_teacher"
    loc, conf, priors, lt, ct = as_paddle(batch, *keys)
    tloc, tconf, tpriors, tlt, tct = as_torch(batch, *keys)
    empty = [np.zeros((0, 5), "float32")] * loc.shape[0]
    ours = MultiBoxLoss_KD()((loc, conf, priors), (lt, ct), empty)
    ref = MultiBoxLossKDReference()((tloc, tconf, tpriors), (tlt, tct), [torch.tensor(t) for t in empty])
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)
    assert float(ours[2]) > 0 and float(ours[0]) > 0 and float(ours[1]) == float(ours[3]) == 0.0
    kd_total(ours).backward()
    assert np.count_nonzero(np.abs(conf.grad.numpy()).sum(-1)) == 100 * loc.shape[0]
    assert not np.any(loc.grad.numpy())

    amdegroot = dict(negatives_for_hard=0)
    assert [float(v) for v in MultiBoxLoss(**amdegroot)((loc, conf, priors), empty)] == [0.0, 0.0]
    out = MultiBoxLoss_KD(**amdegroot)((loc, conf, priors), (lt, ct), empty)
    assert [float(v) for v in out] == [0.0] * 4
    kd_total(out).backward()
    assert np.all(np.isfinite(loc.grad.numpy()))


def test_negatives_for_hard_is_what_makes_ours_the_seed(batch):
    """On a batch with an image without objects, the seed's formula (the reference, 100 negatives
    there) and ours disagree with ``negatives_for_hard=0`` and agree with the seed's default."""
    loc, conf, priors = as_paddle(batch, "loc", "conf", "priors")
    tloc, tconf, tpriors = as_torch(batch, "loc", "conf", "priors")
    targets = batch["targets"]
    assert len(targets[0]) == 0
    seed = MultiBoxLossReference(NUM_CLASSES)((tloc, tconf, tpriors), [torch.tensor(t) for t in targets])
    without = MultiBoxLoss(NUM_CLASSES, negatives_for_hard=0)((loc, conf, priors), targets)
    with_ = MultiBoxLoss(NUM_CLASSES)((loc, conf, priors), targets)
    assert MultiBoxLoss(NUM_CLASSES).negatives_for_hard == 100
    np.testing.assert_allclose(float(without[0]), seed[0].item(), rtol=1e-5)  # loc: positives only
    assert abs(float(without[1]) - seed[1].item()) > 1e-3 * seed[1].item()  # 100 negatives missing
    for a, b in zip(with_, seed):
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)
    # amdegroot's behaviour is the reference's negatives_for_hard=0
    amdegroot = MultiBoxLossReference(NUM_CLASSES, negatives_for_hard=0)(
        (tloc, tconf, tpriors), [torch.tensor(t) for t in targets]
    )
    for a, b in zip(without, amdegroot):
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)


def test_neg_pos_zero_mines_negatives_for_hard_everywhere(batch):
    """The seed replaces every zero count, so ``neg_pos=0`` mines 100 negatives in each image."""
    loc, conf, priors = as_paddle(batch, "loc", "conf", "priors")
    tloc, tconf, tpriors = as_torch(batch, "loc", "conf", "priors")
    ours = MultiBoxLoss(NUM_CLASSES, neg_pos=0)((loc, conf, priors), batch["targets"])
    ref = MultiBoxLossReference(NUM_CLASSES, neg_pos=0)(
        (tloc, tconf, tpriors), [torch.tensor(t) for t in batch["targets"]]
    )
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)


def test_plain_kl_where_neg_w_at_most_one(batch):
    """``neg_w <= 1``: the seed's plain KLDivLoss, ``pos_w`` unused; ``neg_w > 1`` weights it."""
    loc, conf, priors, lt, ct = as_paddle(batch, "loc", "conf", "priors", "loc_teacher", "conf_teacher")

    def soft(**kw):
        return float(MultiBoxLoss_KD(NUM_CLASSES, **kw)((loc, conf, priors), (lt, ct), batch["targets"])[0])

    plain = soft(neg_w=1.0, pos_w=1.0)
    assert soft(neg_w=0.5, pos_w=3.0) == pytest.approx(plain, rel=1e-6)
    assert soft(neg_w=1.5, pos_w=1.0) > plain * 1.01


def test_seed_constructor_arguments(batch):
    """The seed's positional call ``(num_classes, overlap_thresh, prior_for_matching, bkg_label,
    neg_mining, neg_pos, neg_overlap, encode_target, use_gpu, negatives_for_hard, ...)``."""
    loc, conf, priors, lt, ct = as_paddle(batch, "loc", "conf", "priors", "loc_teacher", "conf_teacher")
    seed = MultiBoxLoss(NUM_CLASSES, 0.5, True, 0, True, 3, 0.5, False, False)
    assert (seed.negpos_ratio, seed.negatives_for_hard, seed.use_gpu) == (3, 100.0, False)
    ours = MultiBoxLoss(num_classes=NUM_CLASSES, overlap_thresh=0.5, neg_pos=3, variance=(0.1, 0.2))
    a, b = seed((loc, conf, priors), batch["targets"]), ours((loc, conf, priors), batch["targets"])
    assert [float(v) for v in a] == [float(v) for v in b]
    kd = MultiBoxLoss_KD(NUM_CLASSES, 0.5, True, 0, True, 3, 0.5, False, True, 100.0, 1.5, 1.0, 2.0, 0.1)
    assert (kd.neg_w, kd.pos_w, kd.Temp, kd.T, kd.reg_m) == (1.5, 1.0, 2.0, 2.0, 0.1)
    old = MultiBoxLoss_KD(NUM_CLASSES, T=2.0, reg_m=0.1)
    out_kd = kd((loc, conf, priors), (lt, ct), batch["targets"])
    out_old = old((loc, conf, priors), (lt, ct), batch["targets"])
    assert [float(v) for v in out_kd] == [float(v) for v in out_old]
    for bad in ({"prior_for_matching": False}, {"bkg_label": 1}, {"neg_mining": False}, {"encode_target": True}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            MultiBoxLoss(NUM_CLASSES, **bad)
    with pytest.raises(ConfigError, match="negatives_for_hard"):
        MultiBoxLoss(NUM_CLASSES, negatives_for_hard=-1)
    with pytest.raises(ConfigError, match="same temperature"):
        MultiBoxLoss_KD(NUM_CLASSES, Temp=2.0, T=3.0)


def test_padded_tensor_targets_equal_list(batch):
    loc, conf, priors = as_paddle(batch, "loc", "conf", "priors")
    padded = np.full((len(batch["targets"]), 12, 5), -1, "float32")
    for i, t in enumerate(batch["targets"]):
        padded[i, : len(t)] = t
    a = MultiBoxLoss()((loc, conf, priors), batch["targets"])
    b = MultiBoxLoss()((loc, conf, priors), paddle.to_tensor(padded))
    np.testing.assert_allclose([float(v) for v in a], [float(v) for v in b], rtol=1e-6)


def test_perfect_student_has_zero_soft_loss(batch):
    loc, conf, priors = as_paddle(batch, "loc", "conf", "priors")
    soft, l2, _, _ = MultiBoxLoss_KD()((loc, conf, priors), (loc, conf), batch["targets"])
    assert abs(float(soft)) < 1e-5
    assert float(l2) == 0.0  # equal errors: the student is never worse than the teacher


def test_bad_inputs_raise(batch):
    loc, conf, priors = as_paddle(batch, "loc", "conf", "priors")
    with pytest.raises(ConfigError, match="num_classes"):
        MultiBoxLoss(num_classes=5)((loc, conf, priors), batch["targets"])
    bad = [t.copy() for t in batch["targets"]]
    bad[3][0, 4] = NUM_CLASSES - 1  # one past the last object class
    with pytest.raises(DataError, match="out of range"):
        MultiBoxLoss()((loc, conf, priors), bad)
    bad[3][0, 4] = -1  # a negative label is not "no object": that is an empty [0, 5] list
    with pytest.raises(DataError, match=r"label -1: .*leave an image's list empty"):
        MultiBoxLoss()((loc, conf, priors), bad)
    with pytest.raises(DataError, match="targets for a batch"):
        MultiBoxLoss()((loc, conf, priors), batch["targets"][:3])
    with pytest.raises(ConfigError, match="unknown KD loss weight"):
        kd_total([paddle.zeros([])] * 4, {"sfot": 1.0})


def test_registered():
    assert LOSSES.get("MultiBoxLoss") is MultiBoxLoss
    assert LOSSES.build("MultiBoxLoss_KD", num_classes=4, T=2.0).T == 2.0


def test_more_negatives_wanted_than_there_are():
    """5 of 6 priors positive: 3 * 5 negatives asked for, 1 exists; every prior counts once."""
    sizes = [0.8, 0.85, 0.9, 0.95, 1.0, 0.2]
    priors = np.array([[0.5, 0.5, s, s] for s in sizes], "float32")
    rng = np.random.default_rng(0)
    loc = rng.normal(size=(2, 6, 4)).astype("float32")
    conf = rng.normal(size=(2, 6, NUM_CLASSES)).astype("float32")
    targets = [np.array([[0.05, 0.05, 0.95, 0.95, 4]], "float32"), np.array([[0.4, 0.4, 0.6, 0.6, 1]], "float32")]
    ours = MultiBoxLoss()((paddle.to_tensor(loc), paddle.to_tensor(conf), paddle.to_tensor(priors)), targets)
    ref = MultiBoxLossReference()(
        (torch.tensor(loc), torch.tensor(conf), torch.tensor(priors)), [torch.tensor(t) for t in targets]
    )
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(float(a), b.item(), rtol=1e-5)
