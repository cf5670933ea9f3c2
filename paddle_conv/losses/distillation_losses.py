"""Knowledge-distillation losses of classifiers, with PaddleClas's names, keys and formulas.

Each loss reads the outputs of a :class:`~paddle_conv.models.distillation.DistillationModel`
(``{member name: logits [N, C]}``) by member name, and the labels ``[N]`` / ``[N, 1]``:

- ``model_name_pairs`` (``[[Student, Teacher], ...]``): the loss of each ``(s, t)`` pair, summed
  over the pairs (PaddleClas sums every entry of its loss dict); ``model_names``: one loss per member.
- ``key``: PaddleClas picks ``output[key]`` of members that return a dict; our members return their
  logits, which ``key: logits`` names (other keys are features: refused by the config).
- ``name``: PaddleClas's name of the loss in its log (here the log shows the total loss).

In the classes' formulas ``s`` is the first member's logits, ``t`` the second's, ``y`` the label,
``T`` the temperature, ``softmax`` along the classes. A frozen teacher gets no gradients anyway; with
a trained one, gradients reach it through the same terms as in PaddleClas (through the KL/soft-label
ops' targets they do not: CE, KL, DKD).
"""

import paddle
import paddle.nn.functional as F

from ..models.distillation import LOGITS_KEY
from ..registry import register_loss
from .celoss import CELoss


def member_output(predicts, name, key=None):
    """Member ``name``'s logits ``[N, C]`` in a DistillationModel's outputs ``{name: logits}``."""
    if not isinstance(predicts, dict):
        raise TypeError(f"a distillation loss reads a DistillationModel's outputs by member name ({name!r}); got "
                        f"{type(predicts).__name__}: use it with Arch.name: DistillationModel")
    if name not in predicts:
        raise KeyError(f"no model {name!r} among the DistillationModel's models ({', '.join(predicts)})")
    if key not in (None, LOGITS_KEY):
        raise KeyError(f"key {key!r}: our models return only their logits (key: {LOGITS_KEY})")
    return predicts[name]


def _labels(label):
    """Integer labels ``[N]`` of ``[N]`` / ``[N, 1]``."""
    return label.reshape([-1]).astype("int64")


def _kl_sum(log_p, q):
    """``sum(q * (log q - log_p))`` over all elements (``F.kl_div`` with reduction ``sum``)."""
    return F.kl_div(log_p, q, reduction="sum")


class MemberLoss(paddle.nn.Layer):
    """``loss(outputs[member], label)``: a loss of plain logits on one member of a DistillationModel
    (PaddleClas evaluates its ``Student`` so)."""

    reads_members = True

    def __init__(self, loss, member):
        super().__init__()
        self.loss, self.member = loss, member

    def forward(self, predicts, label):
        return self.loss(member_output(predicts, self.member), label)


class _PairLoss(paddle.nn.Layer):
    """A loss of member pairs ``model_name_pairs`` (``[[first, second], ...]``), summed over the pairs;
    subclasses define ``pair(first, second, label) -> scalar``."""

    reads_members = True

    def __init__(self, model_name_pairs, key=None, name=None):
        super().__init__()
        self.model_name_pairs = [list(pair) for pair in model_name_pairs]
        if not self.model_name_pairs or any(len(pair) != 2 for pair in self.model_name_pairs):
            raise ValueError(f"model_name_pairs must be a non-empty list of [model, model] pairs, got "
                             f"{model_name_pairs!r}")
        self.key, self.name = key, name

    def forward(self, predicts, label):
        return sum(self.pair(member_output(predicts, first, self.key), member_output(predicts, second, self.key), label)
                   for first, second in self.model_name_pairs)

    def pair(self, first, second, label):
        raise NotImplementedError


@register_loss
class DistillationCELoss(_PairLoss):
    """``CE(s, softmax(t))``: cross-entropy of the first member's logits against the second's
    softmax (PaddleClas's ``CELoss`` reads logits-shaped labels so). ``epsilon`` must stay null:
    PaddleClas smooths the raw logits there, which are no distribution (the config refuses it)."""

    def __init__(self, model_name_pairs=(), epsilon=None, key=None, name="loss_ce"):
        super().__init__(model_name_pairs, key, name)
        if epsilon is not None:
            raise ValueError("DistillationCELoss epsilon: label smoothing of soft labels is not implemented")

    def pair(self, first, second, label):
        return F.cross_entropy(first, F.softmax(second, axis=-1), soft_label=True)


@register_loss
class DistillationGTCELoss(paddle.nn.Layer):
    """``sum over model_names of CE(output, label)``: each member against the ground truth, with
    label smoothing ``epsilon`` (:class:`~paddle_conv.losses.celoss.CELoss`)."""

    reads_members = True

    def __init__(self, model_names=(), epsilon=None, key=None, name="loss_gt_ce"):
        super().__init__()
        self.model_names = list(model_names)
        if not self.model_names:
            raise ValueError("model_names must name at least one model")
        self.key, self.name = key, name
        self.ce = CELoss(epsilon)

    def forward(self, predicts, label):
        return sum(self.ce(member_output(predicts, name, self.key), label) for name in self.model_names)


#: ``act`` of :class:`DistillationDMLLoss`: what turns logits into the compared distributions.
DML_ACTIVATIONS = {"softmax": lambda x: F.softmax(x, axis=-1), "sigmoid": F.sigmoid, None: lambda x: x}


@register_loss
class DistillationDMLLoss(_PairLoss):
    """Deep mutual learning (Zhang et al. 2018): ``(KL(p_t||p_s) + KL(p_s||p_t)) / 2`` of ``p = act(logits)``, where
    PaddleClas's ``KL(q||p) = q * log((q + eps) / (p + eps)) * C`` per element; the mean over
    ``[N, C]`` (``sum_across_class_dim``: summed over classes, mean over the batch). ``weight_ratio``
    (multi-label) must stay false."""

    def __init__(self, model_name_pairs=(), act="softmax", weight_ratio=False, sum_across_class_dim=False, key=None,
                 name="loss_dml"):
        super().__init__(model_name_pairs, key, name)
        if act not in DML_ACTIVATIONS:
            raise ValueError(f"act must be softmax, sigmoid or null, got {act!r}")
        if weight_ratio:
            raise ValueError("weight_ratio (multi-label DML) is not implemented")
        self.act, self.sum_across_class_dim, self.eps = DML_ACTIVATIONS[act], sum_across_class_dim, 1e-12

    def _kl(self, p, q):
        return q * paddle.log((q + self.eps) / (p + self.eps)) * p.shape[-1]

    def pair(self, first, second, label):
        p, q = self.act(first), self.act(second)
        loss = (self._kl(p, q) + self._kl(q, p)) / 2
        return loss.sum(axis=1).mean() if self.sum_across_class_dim else loss.mean()


@register_loss
class DistillationKLDivLoss(_PairLoss):
    """Hinton et al. 2015's KD: ``T^2 / N * sum KL(softmax(t / T) || softmax(s / T))``."""

    def __init__(self, model_name_pairs=(), temperature=4, key=None, name="loss_kl"):
        super().__init__(model_name_pairs, key, name)
        self.temperature = float(temperature)

    def pair(self, first, second, label):
        T = self.temperature
        loss = _kl_sum(F.log_softmax(first / T, axis=1), F.softmax(second / T, axis=1))
        return loss * T ** 2 / first.shape[0]


@register_loss
class DistillationDKDLoss(_PairLoss):
    """Decoupled KD (Zhao et al. 2022): ``alpha * TCKD + beta * NCKD`` at temperature ``T``, where TCKD is the KL of the
    binary (target class, all others) probabilities and NCKD the KL among the non-target classes,
    each ``* T^2 / N``. The target is the label (``use_target_as_gt``: the teacher's argmax)."""

    def __init__(self, model_name_pairs=(), key=None, temperature=1.0, alpha=1.0, beta=1.0, use_target_as_gt=False,
                 name="loss_dkd"):
        super().__init__(model_name_pairs, key, name)
        self.temperature, self.alpha, self.beta = float(temperature), float(alpha), float(beta)
        self.use_target_as_gt = use_target_as_gt

    def pair(self, first, second, label):
        T, n = self.temperature, first.shape[0]
        target = second.argmax(axis=-1) if self.use_target_as_gt else _labels(label)
        gt = F.one_hot(target, first.shape[-1]).astype(first.dtype)
        p_s, p_t = F.softmax(first / T, axis=1), F.softmax(second / T, axis=1)

        def binary(p):  # [N, 2]: probability of the target class, of all the others
            return paddle.concat([(p * gt).sum(axis=1, keepdim=True), (p * (1 - gt)).sum(axis=1, keepdim=True)], 1)

        tckd = _kl_sum(paddle.log(binary(p_s)), binary(p_t))
        nckd = _kl_sum(F.log_softmax(first / T - 1000.0 * gt, axis=1), F.softmax(second / T - 1000.0 * gt, axis=1))
        return (self.alpha * tckd + self.beta * nckd) * T ** 2 / n


@register_loss
class DistillationWSLLoss(_PairLoss):
    """Weighted soft labels (Zhou et al. 2021): ``T^2 * mean(w * CE(s / T, softmax(t / T)))``, per sample weight
    ``w = 1 - exp(-max(0, CE(s, y) / (CE(t, y) + 1e-7)))`` (both cross-entropies detached)."""

    def __init__(self, model_name_pairs=(), key=None, temperature=2.0, name="wsl_loss"):
        super().__init__(model_name_pairs, key, name)
        self.temperature = float(temperature)

    def pair(self, first, second, label):
        T = self.temperature
        onehot = F.one_hot(_labels(label), first.shape[-1]).astype(first.dtype)
        ce_s = -(onehot * F.log_softmax(first.detach(), axis=-1)).sum(axis=1)
        ce_t = -(onehot * F.log_softmax(second.detach(), axis=-1)).sum(axis=1)
        weight = 1 - paddle.exp(-paddle.maximum(ce_s / (ce_t + 1e-7), paddle.zeros_like(ce_s)))
        soft = -(F.softmax(second / T, axis=-1) * F.log_softmax(first / T, axis=-1)).sum(axis=1)
        return T ** 2 * (soft * weight).mean()


@register_loss
class DistillationSKDLoss(_PairLoss):
    """Spherical KD (Guo et al. 2020): logits layer-normalised over the classes (no affine, eps 1e-7) and scaled by
    ``multiplier``, then ``alpha * T^2 * mean CE(s' / T, softmax(t' / T)) + (1 - alpha) * CE(s', y)``
    (``use_target_as_gt``: ``y`` is the teacher's argmax)."""

    def __init__(self, model_name_pairs=(), key=None, temperature=1.0, multiplier=2.0, alpha=0.9,
                 use_target_as_gt=False, name="skd_loss"):
        super().__init__(model_name_pairs, key, name)
        self.temperature, self.multiplier, self.alpha = float(temperature), float(multiplier), float(alpha)
        self.use_target_as_gt = use_target_as_gt

    def _sphere(self, logits):
        return F.layer_norm(logits, logits.shape[1:], epsilon=1e-7) * self.multiplier

    def pair(self, first, second, label):
        T = self.temperature
        target = second.argmax(axis=-1) if self.use_target_as_gt else _labels(label)
        onehot = F.one_hot(target, first.shape[-1]).astype(first.dtype)
        s, t = self._sphere(first), self._sphere(second)
        kd = -(F.softmax(t / T, axis=-1) * F.log_softmax(s / T, axis=-1)).sum(axis=1).mean() * T ** 2
        ce = -(onehot * F.log_softmax(s, axis=-1)).sum(axis=1).mean()
        return self.alpha * kd + (1 - self.alpha) * ce


def _pearson_distance(a, b, eps=1e-8):
    """``1 - mean over rows of the Pearson correlation of a's and b's rows`` (``[N, C]`` each)."""
    a, b = a - a.mean(axis=1, keepdim=True), b - b.mean(axis=1, keepdim=True)
    cosine = (a * b).sum(axis=1) / (a.norm(axis=1) * b.norm(axis=1) + eps)
    return 1 - cosine.mean()


@register_loss
class DistillationDISTLoss(_PairLoss):
    """DIST (Huang et al. 2022): ``beta * inter + gamma * intra`` of ``p = softmax(logits)`` (no temperature, as
    PaddleClas): ``inter`` = 1 - the mean Pearson correlation of the samples' class distributions,
    ``intra`` = the same over the classes (columns of ``[N, C]``)."""

    def __init__(self, model_name_pairs=(), key=None, beta=1.0, gamma=1.0, name="loss_dist"):
        super().__init__(model_name_pairs, key, name)
        self.beta, self.gamma = float(beta), float(gamma)

    def pair(self, first, second, label):
        p_s, p_t = F.softmax(first, axis=-1), F.softmax(second, axis=-1)
        return self.beta * _pearson_distance(p_s, p_t) + self.gamma * _pearson_distance(p_s.T, p_t.T)
