"""Distillation losses against their formulas written out in NumPy (PaddleClas's and the papers'),
on tiny logits; the pairs and member names as PaddleClas's configs give them."""

import numpy as np
import paddle
import pytest

from paddle_conv.losses import LOSSES, build_loss

S = np.array([[1.0, 2.0, 0.5, -0.3], [0.2, -1.0, 1.5, 0.4], [0.7, 0.1, -0.6, 2.2]])   # student logits [N, C]
T = np.array([[2.0, 0.5, 0.1, 0.3], [0.0, 0.3, 2.0, -0.5], [1.2, -0.4, 0.3, 1.0]])    # teacher logits
A = np.array([[0.3, -0.2, 0.9, 0.1], [1.1, 0.6, -0.7, 0.2], [-0.5, 0.8, 0.4, 0.0]])   # a third model
Y = np.array([1, 2, 3])


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(x):
    return np.log(softmax(x))


def outputs(**members):
    return {name: paddle.to_tensor(value, dtype="float32") for name, value in members.items()}


def loss_value(name, predicts=None, label=Y, **kwargs):
    loss = LOSSES.build(name, **kwargs)
    predicts = predicts or outputs(Student=S, Teacher=T)
    return float(loss(predicts, paddle.to_tensor(label.reshape(-1, 1), dtype="int64")))


def soft_ce(s, t):
    """mean over samples of -sum softmax(t) * log softmax(s)."""
    return float(np.mean(-(softmax(t) * log_softmax(s)).sum(axis=1)))


def kl(p, q):
    """KL(p || q) summed over everything."""
    return float((p * (np.log(p) - np.log(q))).sum())


def test_ce_with_soft_labels_of_the_teacher():
    assert loss_value("DistillationCELoss", model_name_pairs=[["Student", "Teacher"]]) == pytest.approx(
        soft_ce(S, T), rel=1e-5)


def test_pairs_are_summed_and_key_logits_names_the_output():
    got = loss_value("DistillationCELoss", outputs(Student=S, Teacher=T, Assistant=A), key="logits",
                     model_name_pairs=[["Student", "Teacher"], ["Student", "Assistant"]])
    assert got == pytest.approx(soft_ce(S, T) + soft_ce(S, A), rel=1e-5)


def test_gt_ce_per_model_with_label_smoothing():
    want = np.mean(-log_softmax(S)[np.arange(3), Y]) + np.mean(-log_softmax(T)[np.arange(3), Y])
    assert loss_value("DistillationGTCELoss", model_names=["Student", "Teacher"]) == pytest.approx(want, rel=1e-5)
    smooth = 0.9 * np.eye(4)[Y] + 0.1 / 4
    want = np.mean(-(smooth * log_softmax(S)).sum(axis=1))
    assert loss_value("DistillationGTCELoss", model_names=["Student"], epsilon=0.1) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("sum_across_class_dim", [False, True])
def test_dml_symmetric_kl_as_paddleclas(sum_across_class_dim):
    p, q, eps, c = softmax(S), softmax(T), 1e-12, S.shape[1]
    elements = (q * np.log((q + eps) / (p + eps)) + p * np.log((p + eps) / (q + eps))) * c / 2
    want = elements.sum(axis=1).mean() if sum_across_class_dim else elements.mean()
    got = loss_value("DistillationDMLLoss", model_name_pairs=[["Student", "Teacher"]],
                     sum_across_class_dim=sum_across_class_dim)
    assert got == pytest.approx(want, rel=1e-5)


def test_dml_with_sigmoid():
    p, q = 1 / (1 + np.exp(-S)), 1 / (1 + np.exp(-T))
    want = ((q * np.log(q / p) + p * np.log(p / q)) * 4 / 2).mean()
    got = loss_value("DistillationDMLLoss", model_name_pairs=[["Student", "Teacher"]], act="sigmoid")
    assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("temperature", [1, 4])
def test_kldiv_hinton(temperature):
    want = kl(softmax(T / temperature), softmax(S / temperature)) * temperature ** 2 / 3
    got = loss_value("DistillationKLDivLoss", model_name_pairs=[["Student", "Teacher"]], temperature=temperature)
    assert got == pytest.approx(want, rel=1e-5)


def dkd(s, t, y, temperature, alpha, beta):
    """DKD (Zhao et al. 2022, eq. 7): alpha * KL(b_t || b_s) + beta * KL(p^_t || p^_s), where b is the
    binary (target, rest) distribution and p^ the softmax over the non-target classes only."""
    total = 0.0
    for i in range(len(y)):
        ps, pt = softmax(s[i:i + 1] / temperature)[0], softmax(t[i:i + 1] / temperature)[0]
        bs, bt = np.array([ps[y[i]], 1 - ps[y[i]]]), np.array([pt[y[i]], 1 - pt[y[i]]])
        rest = [c for c in range(s.shape[1]) if c != y[i]]
        ns, nt = softmax(s[i:i + 1, rest] / temperature)[0], softmax(t[i:i + 1, rest] / temperature)[0]
        total += alpha * kl(bt, bs) + beta * kl(nt, ns)
    return total * temperature ** 2 / len(y)


@pytest.mark.parametrize("temperature, alpha, beta", [(1.0, 1.0, 1.0), (4.0, 1.0, 8.0)])
def test_dkd_decoupled_target_and_non_target_kl(temperature, alpha, beta):
    got = loss_value("DistillationDKDLoss", model_name_pairs=[["Student", "Teacher"]], temperature=temperature,
                     alpha=alpha, beta=beta)
    assert got == pytest.approx(dkd(S, T, Y, temperature, alpha, beta), rel=1e-4)


def test_dkd_use_target_as_gt_takes_the_teachers_argmax():
    got = loss_value("DistillationDKDLoss", model_name_pairs=[["Student", "Teacher"]], use_target_as_gt=True)
    assert got == pytest.approx(dkd(S, T, T.argmax(axis=1), 1.0, 1.0, 1.0), rel=1e-4)


def test_wsl_weighted_soft_labels():
    temperature = 2.0
    ce_s, ce_t = -log_softmax(S)[np.arange(3), Y], -log_softmax(T)[np.arange(3), Y]
    weight = 1 - np.exp(-np.maximum(ce_s / (ce_t + 1e-7), 0))
    kd = -(softmax(T / temperature) * log_softmax(S / temperature)).sum(axis=1)
    want = temperature ** 2 * np.mean(kd * weight)
    got = loss_value("DistillationWSLLoss", model_name_pairs=[["Student", "Teacher"]], temperature=temperature)
    assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("temperature", [1.0, 2.0])
def test_skd_spherical_logits(temperature):
    def sphere(x):
        return (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + 1e-7) * 2.0

    s, t = sphere(S), sphere(T)
    kd = np.mean(-(softmax(t / temperature) * log_softmax(s / temperature)).sum(axis=1)) * temperature ** 2
    ce = np.mean(-log_softmax(s)[np.arange(3), Y])
    got = loss_value("DistillationSKDLoss", model_name_pairs=[["Student", "Teacher"]], temperature=temperature,
                     multiplier=2.0, alpha=0.9)
    assert got == pytest.approx(0.9 * kd + 0.1 * ce, rel=1e-5)


def test_dist_inter_and_intra_class_pearson():
    ps, pt = softmax(S), softmax(T)
    inter = 1 - np.mean([np.corrcoef(ps[i], pt[i])[0, 1] for i in range(3)])
    intra = 1 - np.mean([np.corrcoef(ps[:, c], pt[:, c])[0, 1] for c in range(4)])
    got = loss_value("DistillationDISTLoss", model_name_pairs=[["Student", "Teacher"]], beta=1.0, gamma=2.0)
    assert got == pytest.approx(inter + 2.0 * intra, rel=1e-4)


def test_combined_with_weights_and_a_plain_loss_on_the_evaluated_member():
    entries = [{"DistillationGTCELoss": {"weight": 1.0, "model_names": ["Student"]}},
               {"DistillationKLDivLoss": {"weight": 0.5, "model_name_pairs": [["Student", "Teacher"]]}}]
    label = paddle.to_tensor(Y.reshape(-1, 1))
    got = float(build_loss(entries)(outputs(Student=S, Teacher=T), label))
    want = np.mean(-log_softmax(S)[np.arange(3), Y]) + 0.5 * kl(softmax(T / 4), softmax(S / 4)) * 16 / 3
    assert got == pytest.approx(want, rel=1e-5)
    plain = float(build_loss([{"CELoss": {}}], member="Student")(outputs(Student=S, Teacher=T), label))
    assert plain == pytest.approx(np.mean(-log_softmax(S)[np.arange(3), Y]), rel=1e-5)


def test_a_plain_output_or_a_missing_model_is_named():
    loss = LOSSES.build("DistillationKLDivLoss", model_name_pairs=[["Student", "Teacher"]])
    with pytest.raises(TypeError, match="DistillationModel"):
        loss(paddle.to_tensor(S, dtype="float32"), paddle.to_tensor(Y))
    with pytest.raises(KeyError, match="no model 'Teacher'"):
        loss(outputs(Student=S), paddle.to_tensor(Y))
