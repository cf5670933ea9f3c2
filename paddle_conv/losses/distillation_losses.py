"""Knowledge-distillation losses of classifiers with PaddleClas's names, keys and formulas (docs/paddleclas.md): ``s``
is the first member's logits ``[N, C]``, ``t`` the second's, ``y`` the label ``[N]``, ``T`` the temperature."""

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


def _one_hot(target, like):
    """One-hot ``[N, C]`` of integer ``target`` ``[N]`` / ``[N, 1]``, with the classes and dtype of ``like [N, C]``."""
    return F.one_hot(target.reshape([-1]).astype("int64"), like.shape[-1]).astype(like.dtype)


class MemberLoss(paddle.nn.Layer):
    """``loss(outputs[member], label)``: a loss of plain logits on one member of a DistillationModel."""

    reads_members = True

    def __init__(self, loss, member):
        super().__init__()
        self.loss, self.member = loss, member

    def forward(self, predicts, label):
        return self.loss(member_output(predicts, self.member), label)


class _PairLoss(paddle.nn.Layer):
    """A loss of ``model_name_pairs`` (``[[first, second], ...]``): the sum of ``self.pair(first, second, label)``."""

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


@register_loss
class DistillationCELoss(_PairLoss):
    """``CE(s, softmax(t))``; ``epsilon`` must stay null (PaddleClas smooths the raw logits there)."""

    def __init__(self, model_name_pairs=(), epsilon=None, key=None, name="loss_ce"):
        super().__init__(model_name_pairs, key, name)
        if epsilon is not None:
            raise ValueError("DistillationCELoss epsilon: label smoothing of soft labels is not implemented")

    def pair(self, first, second, label):
        return F.cross_entropy(first, F.softmax(second, axis=-1), soft_label=True)


@register_loss
class DistillationGTCELoss(paddle.nn.Layer):
    """``sum over model_names of CE(output, label)``, label smoothing ``epsilon`` (:class:`CELoss`)."""

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
    """Deep mutual learning (Zhang et al. 2018): ``(KL(p_t||p_s) + KL(p_s||p_t)) / 2`` of ``p = act(logits)``,
    PaddleClas's ``KL(q||p) = q * log((q + eps) / (p + eps)) * C``, mean over ``[N, C]`` (or over N of the sums)."""

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
        loss = F.kl_div(F.log_softmax(first / T, axis=1), F.softmax(second / T, axis=1), reduction="sum")
        return loss * T ** 2 / first.shape[0]


@register_loss
class DistillationDKDLoss(_PairLoss):
    """Decoupled KD (Zhao et al. 2022): ``(alpha * TCKD + beta * NCKD) * T^2 / N``: the KLs of the (target, others)
    probabilities and among the non-target classes (``use_target_as_gt``: the target is the teacher's argmax)."""

    def __init__(self, model_name_pairs=(), key=None, temperature=1.0, alpha=1.0, beta=1.0, use_target_as_gt=False,
                 name="loss_dkd"):
        super().__init__(model_name_pairs, key, name)
        self.temperature, self.alpha, self.beta = float(temperature), float(alpha), float(beta)
        self.use_target_as_gt = use_target_as_gt

    def pair(self, first, second, label):
        T, n = self.temperature, first.shape[0]
        gt = _one_hot(second.argmax(axis=-1) if self.use_target_as_gt else label, first)
        p_s, p_t = F.softmax(first / T, axis=1), F.softmax(second / T, axis=1)

        def binary(p):  # [N, 2]: probability of the target class, of all the others
            return paddle.concat([(p * gt).sum(axis=1, keepdim=True), (p * (1 - gt)).sum(axis=1, keepdim=True)], 1)

        tckd = F.kl_div(paddle.log(binary(p_s)), binary(p_t), reduction="sum")
        nckd = F.kl_div(F.log_softmax(first / T - 1000.0 * gt, axis=1), F.softmax(second / T - 1000.0 * gt, axis=1),
                        reduction="sum")
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
        onehot = _one_hot(label, first)
        ce_s = -(onehot * F.log_softmax(first.detach(), axis=-1)).sum(axis=1)
        ce_t = -(onehot * F.log_softmax(second.detach(), axis=-1)).sum(axis=1)
        weight = 1 - paddle.exp(-paddle.maximum(ce_s / (ce_t + 1e-7), paddle.zeros_like(ce_s)))
        soft = -(F.softmax(second / T, axis=-1) * F.log_softmax(first / T, axis=-1)).sum(axis=1)
        return T ** 2 * (soft * weight).mean()


@register_loss
class DistillationSKDLoss(_PairLoss):
    """Spherical KD (Guo et al. 2020): ``alpha * T^2 * mean CE(s' / T, softmax(t' / T)) + (1 - alpha) * CE(s', y)``
    of the logits layer-normalised and scaled by ``multiplier`` (``use_target_as_gt``: ``y`` = the teacher's argmax)."""

    def __init__(self, model_name_pairs=(), key=None, temperature=1.0, multiplier=2.0, alpha=0.9,
                 use_target_as_gt=False, name="skd_loss"):
        super().__init__(model_name_pairs, key, name)
        self.temperature, self.multiplier, self.alpha = float(temperature), float(multiplier), float(alpha)
        self.use_target_as_gt = use_target_as_gt

    def _sphere(self, logits):
        return F.layer_norm(logits, logits.shape[1:], epsilon=1e-7) * self.multiplier

    def pair(self, first, second, label):
        T = self.temperature
        onehot = _one_hot(second.argmax(axis=-1) if self.use_target_as_gt else label, first)
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
    """DIST (Huang et al. 2022): ``beta * inter + gamma * intra``, the Pearson distances of ``softmax(logits)``
    over the rows and over the columns of ``[N, C]``."""

    def __init__(self, model_name_pairs=(), key=None, beta=1.0, gamma=1.0, name="loss_dist"):
        super().__init__(model_name_pairs, key, name)
        self.beta, self.gamma = float(beta), float(gamma)

    def pair(self, first, second, label):
        p_s, p_t = F.softmax(first, axis=-1), F.softmax(second, axis=-1)
        return self.beta * _pearson_distance(p_s, p_t) + self.gamma * _pearson_distance(p_s.T, p_t.T)
