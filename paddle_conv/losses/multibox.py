"""SSD losses: MultiBoxLoss (Liu et al., ECCV 2016) and its distillation form MultiBoxLoss_KD (Chen et al.,
NeurIPS 2017), vectorised over the batch (docs/detection.md; the speed work in docs/benchmarks.md)."""

from collections import namedtuple
from typing import Sequence, Tuple, Union

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..det import encode, match_numpy, pad_targets_numpy
from ..errors import ConfigError, DataError
from ..registry import register_loss

#: Matching and mining: flat rows ``image * P + prior`` of the positives and of the selected priors
#: (positives, then mined negatives), their targets, and N (>= 1).
_Assigned = namedtuple("_Assigned", "pos_rows sel_rows loc_t conf_t n")

#: The seed's total ``(0.3 * soft + 0.7 * loss_c) + (0.5 * l2 + loss_l)``; trainer config keys.
KD_WEIGHTS = {"soft": 0.3, "loss_c": 0.7, "l2": 0.5, "loss_l": 1.0}


class _GatherRows(paddle.autograd.PyLayer):
    """``paddle.gather(x, rows)`` with its backward in NumPy (faster on CPU); the rows must be distinct."""

    @staticmethod
    def forward(ctx, x, rows):
        ctx.shape, ctx.rows = x.shape, rows
        return paddle.gather(x, rows)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.numpy()
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        out[ctx.rows.numpy()] = grad
        return paddle.utils.dlpack.from_dlpack(out)


def _rows(x, rows):
    """Rows ``image * P + prior`` of ``x [B, P, D]`` as ``[len(rows), D]`` (differentiable)."""
    flat = x.reshape([-1, x.shape[-1]])
    if flat.stop_gradient or not flat.place.is_cpu_place() or flat.dtype not in (paddle.float32, paddle.float64):
        return paddle.gather(flat, rows)
    return _GatherRows.apply(flat, rows)


def _log_softmax(x):
    """Log-softmax over the last axis, exact for any logits (Paddle 3.3's CPU one stops at about -64)."""
    shifted = x - x.max(axis=-1, keepdim=True).detach()
    return shifted - paddle.log(paddle.exp(shifted).sum(axis=-1, keepdim=True))


def _zero(loc, conf):
    """A zero loss that keeps the graph (zero gradients, no NaN): the batch has no positive."""
    return (loc.sum() + conf.sum()) * 0.0


def background_loss(conf, block=16384):
    """Each prior's cross-entropy as background, ``logsumexp(conf) - conf[..., 0]``: ``conf [B, P, C]`` -> NumPy
    ``[B, P]``, no gradient; blocks of ``block`` rows, rows out of the safe range redone with ``paddle.logsumexp``."""
    with paddle.no_grad():
        rows = conf.detach().reshape([-1, conf.shape[-1]])
        ones = paddle.ones([conf.shape[-1]], dtype=conf.dtype)
        sums, background = [], []
        for start in range(0, rows.shape[0], block):
            part = rows[start : start + block]
            sums.append(paddle.matmul(paddle.exp(part), ones))  # the class sum; faster than .sum(-1)
            background.append(part[:, 0].contiguous())
        total = paddle.concat(sums).numpy()
        unsafe = np.flatnonzero(~((total > 1e-30) & (total < 1e30)))
        with np.errstate(divide="ignore"):
            loss = np.log(total)
        if len(unsafe):
            loss[unsafe] = paddle.logsumexp(paddle.gather(rows, paddle.to_tensor(unsafe)), axis=-1).numpy()
        loss -= paddle.concat(background).numpy()
    return loss.reshape(conf.shape[:2])


def kd_total(losses, weights=None):
    """Weighted sum of :class:`MultiBoxLoss_KD`'s ``(soft, l2, loss_c, loss_l)`` (defaults: :data:`KD_WEIGHTS`)."""
    weights = {**KD_WEIGHTS, **(weights or {})}
    unknown = set(weights) - set(KD_WEIGHTS)
    if unknown:
        raise ConfigError(f"unknown KD loss weight(s) {sorted(unknown)}; the keys are {sorted(KD_WEIGHTS)}")
    soft, l2, loss_c, loss_l = losses
    return (weights["soft"] * soft + weights["loss_c"] * loss_c) + (weights["l2"] * l2 + weights["loss_l"] * loss_l)


def _hard_negative_rows(conf, pos_rows, num_neg):
    """Flat rows ``image * P + prior`` of ``conf [B, P, C]``'s mined negatives: per image the ``num_neg[b]``
    priors of highest background loss, hardest first, never a positive."""
    num_priors = conf.shape[1]
    k = min(int(num_neg.max()), num_priors)
    if k <= 0:
        return np.zeros(0, dtype="int64")
    # minus the background cross-entropy (the hardest first), positives last
    mining = np.negative(background_loss(conf))
    mining.reshape(-1)[pos_rows] = np.inf
    hardest = np.argpartition(mining, k - 1, axis=1)[:, :k]  # [B, k], unordered
    order = np.argsort(np.take_along_axis(mining, hardest, axis=1), axis=1, kind="stable")
    hardest = np.take_along_axis(hardest, order, axis=1)  # highest loss first
    take = np.arange(k) < num_neg[:, None]
    neg_rows = (np.nonzero(take)[0] * num_priors + hardest[take]).astype("int64")
    # an image with fewer negatives than num_neg took positives too: they count once
    return neg_rows[np.isfinite(mining.reshape(-1)[neg_rows])]


@register_loss
class MultiBoxLoss(nn.Layer):
    """SSD loss: Smooth-L1 on positives plus cross-entropy with 3:1 hard negative mining, both / N.

    Seed 003's arguments, names and order (docs/detection.md). Call: ``loss_l, loss_c = criterion((loc, conf,
    priors), targets)`` with ``loc [B, P, 4]``, ``conf [B, P, C]`` logits (C with background), ``priors [P, 4]``
    (cx, cy, w, h), ``targets`` ``B`` tensors ``[n_i, 5]`` = ``(x1, y1, x2, y2, 0-based label)`` or ``[B, M, 5]``
    padded with label ``-1``."""

    def __init__(self, num_classes=21, overlap_thresh=0.5, prior_for_matching=True, bkg_label=0, neg_mining=True,
                 neg_pos=3, neg_overlap=0.5, encode_target=False, use_gpu=True, negatives_for_hard=100.0,
                 variance=(0.1, 0.2)):
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"num_classes={num_classes}: it counts background, so it must be >= 2")
        if not 0 < overlap_thresh <= 1:
            raise ConfigError(f"overlap_thresh={overlap_thresh} must be in (0, 1]")
        if neg_pos < 0:
            raise ConfigError(f"neg_pos={neg_pos} must be >= 0")
        if negatives_for_hard < 0:
            raise ConfigError(f"negatives_for_hard={negatives_for_hard} must be >= 0 (0: amdegroot's behaviour)")
        seed_flags = {"prior_for_matching": (prior_for_matching, True), "bkg_label": (bkg_label, 0),
                      "neg_mining": (neg_mining, True), "encode_target": (encode_target, False)}
        for name, (value, wanted) in seed_flags.items():  # stored by the seed, which computes only these values
            if value != wanted:
                raise ConfigError(f"{name}={value!r}: the SSD loss (as seed 003 and amdegroot/ssd.pytorch) always "
                                  "matches with the priors, mines hard negatives and has background class 0; "
                                  f"use {name}={wanted!r}")
        self.num_classes, self.threshold, self.negpos_ratio = num_classes, overlap_thresh, neg_pos
        self.use_prior_for_matching, self.background_label = prior_for_matching, bkg_label
        self.do_neg_mining, self.encode_target = neg_mining, encode_target
        self.neg_overlap, self.use_gpu = neg_overlap, use_gpu
        self.negatives_for_hard, self.variance = negatives_for_hard, tuple(variance)

    def _assign(self, loc, conf, priors, targets):
        """Matching and hard negative mining of the whole batch (NumPy, no gradient) as :data:`_Assigned`."""
        if loc.ndim != 3 or conf.ndim != 3 or loc.shape[:2] != conf.shape[:2] or loc.shape[1] != priors.shape[0]:
            raise DataError(f"predictions do not fit: loc {list(loc.shape)}, conf {list(conf.shape)}, "
                            f"priors {list(priors.shape)}; expected [B, P, 4], [B, P, C], [P, 4]")
        if conf.shape[-1] != self.num_classes:
            raise ConfigError(f"conf has {conf.shape[-1]} classes but the loss was built with "
                              f"num_classes={self.num_classes} (background included)")
        truths, labels, valid = pad_targets_numpy(targets)
        if truths.shape[0] != loc.shape[0]:
            raise DataError(f"{truths.shape[0]} targets for a batch of {loc.shape[0]} images")
        top = int(labels.max())
        if top >= self.num_classes - 1:
            raise DataError(f"target label {top} out of range: labels are 0-based without background, "
                            f"so they must lie in [0, {self.num_classes - 2}] for num_classes={self.num_classes}")
        priors_np = priors.numpy()
        batch, num_priors = conf.shape[:2]
        pos_img, pos_prior, pos_truth = match_numpy(truths, valid, priors_np, self.threshold)
        pos_rows = pos_img * num_priors + pos_prior  # flat (image, prior) rows, row-major
        num_pos = np.bincount(pos_img, minlength=batch)
        num_neg = np.minimum(self.negpos_ratio * num_pos, num_priors - 1).astype("int64")
        num_neg[num_neg == 0] = int(self.negatives_for_hard)  # the seed's count; it may exceed P
        neg_rows = _hard_negative_rows(conf, pos_rows, num_neg)
        loc_t = encode(truths[pos_img, pos_truth], priors_np[pos_prior], self.variance)
        sel_classes = np.concatenate([labels[pos_img, pos_truth] + 1, np.zeros(len(neg_rows), dtype="int64")])
        return _Assigned(paddle.to_tensor(pos_rows), paddle.to_tensor(np.concatenate([pos_rows, neg_rows])),
                         paddle.to_tensor(loc_t), paddle.to_tensor(sel_classes),
                         paddle.to_tensor(max(len(pos_rows), 1), dtype=loc.dtype))

    def _own_losses(self, loc_pos, log_p, a):
        """``(loss_l, loss_c) / N`` of the positives' ``loc_pos [Np, 4]`` and the selected ``log_p [S, C]``."""
        loss_l = F.smooth_l1_loss(loc_pos, a.loc_t, reduction="sum") / a.n
        loss_c = -paddle.take_along_axis(log_p, a.conf_t.unsqueeze(-1), axis=-1).sum() / a.n
        return loss_l, loss_c

    def forward(self, predictions: Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor],
                targets: Union[paddle.Tensor, Sequence[paddle.Tensor]]) -> Tuple[paddle.Tensor, paddle.Tensor]:
        loc, conf, priors = predictions
        a = self._assign(loc, conf, priors, targets)
        if a.sel_rows.shape[0] == 0:
            return (_zero(loc, conf),) * 2
        return self._own_losses(_rows(loc, a.pos_rows), _log_softmax(_rows(conf, a.sel_rows)), a)


@register_loss
class MultiBoxLoss_KD(MultiBoxLoss):  # noqa: N801  (the seed's name)
    """MultiBoxLoss plus the two distillation terms of Chen et al. (2017) (docs/detection.md).

    Call: ``soft, l2, loss_c, loss_l = criterion((loc, conf, priors), (loc_t, conf_t), targets)`` with the
    teacher's ``loc_t [B, P, 4]``, ``conf_t [B, P, C]``: ``soft`` the KL of the softmaxes at ``Temp`` over the
    selected priors, class-weighted by ``neg_w``/``pos_w`` where ``neg_w > 1``, times ``Temp**2``; ``l2`` a
    positive's squared error where it plus ``reg_m`` exceeds the teacher's; all four / N (:func:`kd_total`)."""

    def __init__(self, num_classes=21, overlap_thresh=0.5, prior_for_matching=True, bkg_label=0, neg_mining=True,
                 neg_pos=3, neg_overlap=0.5, encode_target=False, use_gpu=True, negatives_for_hard=100.0, neg_w=1.5,
                 pos_w=1.0, Temp=1.0, reg_m=0.0, variance=(0.1, 0.2), T=None):  # noqa: N803  (the seed's Temp)
        super().__init__(num_classes, overlap_thresh, prior_for_matching, bkg_label, neg_mining, neg_pos, neg_overlap,
                         encode_target, use_gpu, negatives_for_hard, variance)
        if T is not None and Temp not in (1.0, T):
            raise ConfigError(f"T={T} and Temp={Temp} are the same temperature; give one of them")
        temp = Temp if T is None else T
        if temp <= 0:
            raise ConfigError(f"temperature Temp={temp} must be > 0")
        self.neg_w, self.pos_w, self.Temp, self.reg_m = neg_w, pos_w, temp, reg_m

    @property
    def T(self):  # noqa: N802  (the older name of Temp)
        return self.Temp

    def forward(  # type: ignore[override]  # the seed's call: the KD criterion also takes the teacher's outputs
        self, predictions: Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor], teacher: Sequence[paddle.Tensor],
        targets: Union[paddle.Tensor, Sequence[paddle.Tensor]],
    ) -> Tuple[paddle.Tensor, paddle.Tensor, paddle.Tensor, paddle.Tensor]:
        loc, conf, priors = predictions
        loc_teacher, conf_teacher = (t.detach() for t in teacher[:2])
        if loc_teacher.shape != loc.shape or conf_teacher.shape != conf.shape:
            raise DataError(f"teacher predictions {list(loc_teacher.shape)}, {list(conf_teacher.shape)} do not "
                            f"match the student's {list(loc.shape)}, {list(conf.shape)}: both must use the same priors")
        a = self._assign(loc, conf, priors, targets)
        if a.sel_rows.shape[0] == 0:
            return (_zero(loc, conf),) * 4
        # the student's rows gathered once: one gradient scatter per input
        loc_pos, conf_sel = _rows(loc, a.pos_rows), _rows(conf, a.sel_rows)
        log_p = _log_softmax(conf_sel)
        loss_l, loss_c = self._own_losses(loc_pos, log_p, a)

        log_ps = log_p if self.Temp == 1 else _log_softmax(conf_sel / self.Temp)
        log_pt = _log_softmax(_rows(conf_teacher, a.sel_rows) / self.Temp)
        kl = paddle.exp(log_pt) * (log_pt - log_ps)
        if self.neg_w > 1:  # the seed's class-weighted KL_div
            class_w = paddle.full([self.num_classes], self.pos_w, dtype=conf.dtype)
            class_w[0] = self.neg_w
            kl = class_w * kl
        soft = kl.sum() * (self.Temp**2) / a.n

        dist_s = ((loc_pos - a.loc_t) ** 2).sum(-1)
        dist_t = ((_rows(loc_teacher, a.pos_rows) - a.loc_t) ** 2).sum(-1)
        l2 = (dist_s * (dist_s + self.reg_m > dist_t).astype(dist_s.dtype)).sum() / a.n
        return soft, l2, loss_c, loss_l
