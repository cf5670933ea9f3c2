"""PyTorch references of the SSD losses, a per-image loop in the manner of amdegroot/ssd.pytorch (the loop
baseline of ``tools/benchmark_det_loss.py``). Unlike upstream, hard negatives are mined from one image's ``[P]``
losses, and an image with no positive mines ``negatives_for_hard`` (0: amdegroot's behaviour)."""

import torch
import torch.nn.functional as F


def point_form(boxes):
    return torch.cat([boxes[:, :2] - boxes[:, 2:] / 2, boxes[:, :2] + boxes[:, 2:] / 2], 1)


def jaccard(box_a, box_b):
    lo = torch.max(box_a[:, None, :2], box_b[None, :, :2])
    hi = torch.min(box_a[:, None, 2:], box_b[None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(-1)
    area_a = ((box_a[:, 2] - box_a[:, 0]) * (box_a[:, 3] - box_a[:, 1]))[:, None]
    area_b = ((box_b[:, 2] - box_b[:, 0]) * (box_b[:, 3] - box_b[:, 1]))[None, :]
    return inter / (area_a + area_b - inter)


def encode(matched, priors, variances):
    g_c = ((matched[:, :2] + matched[:, 2:]) / 2 - priors[:, :2]) / (variances[0] * priors[:, 2:])
    g_wh = torch.log((matched[:, 2:] - matched[:, :2]) / priors[:, 2:]) / variances[1]
    return torch.cat([g_c, g_wh], 1)


def match_image(threshold, truths, labels, priors, variances):
    """One image: ``truths [n, 4]``, ``labels [n]`` -> ``loc_t [P, 4]``, ``conf_t [P]``."""
    overlaps = jaccard(truths, point_form(priors))
    _, best_prior_idx = overlaps.max(1)
    best_truth_overlap, best_truth_idx = overlaps.max(0)
    best_truth_overlap.index_fill_(0, best_prior_idx, 2)
    for j in range(best_prior_idx.size(0)):
        best_truth_idx[best_prior_idx[j]] = j
    conf = labels[best_truth_idx].long() + 1
    conf[best_truth_overlap < threshold] = 0
    return encode(truths[best_truth_idx], priors, variances), conf


class MultiBoxLossReference(torch.nn.Module):
    """Per-image MultiBoxLoss; same call and return as :class:`paddle_conv.losses.MultiBoxLoss`."""

    def __init__(self, num_classes=21, overlap_thresh=0.5, neg_pos=3, variance=(0.1, 0.2), negatives_for_hard=100.0):
        super().__init__()
        self.num_classes, self.threshold, self.negpos_ratio = num_classes, overlap_thresh, neg_pos
        self.variance, self.negatives_for_hard = variance, negatives_for_hard

    def image_terms(self, loc, conf, priors, target):
        """Matched targets, positive and selected (positive or mined) masks of one image."""
        if len(target) == 0:  # the seed's `continue`: the image's targets stay zero (background)
            loc_t, conf_t = loc.new_zeros(loc.shape), torch.zeros(loc.shape[0], dtype=torch.long)
        else:
            loc_t, conf_t = match_image(self.threshold, target[:, :4], target[:, 4], priors, self.variance)
        pos = conf_t > 0
        loss_c = torch.logsumexp(conf, 1) - conf.gather(1, conf_t[:, None])[:, 0]
        loss_c = loss_c.detach().clone()
        loss_c[pos] = 0  # the fixed filter: one image's [P] losses
        _, loss_idx = loss_c.sort(0, descending=True)
        _, idx_rank = loss_idx.sort(0)
        num_neg = min(self.negpos_ratio * int(pos.sum()), pos.size(0) - 1)
        if num_neg == 0:
            num_neg = int(self.negatives_for_hard)
        return loc_t, conf_t, pos, pos | (idx_rank < num_neg)

    def forward(self, predictions, targets):
        loc_data, conf_data, priors = predictions
        loss_l = loss_c = loc_data.new_zeros(())
        n = 0
        for i, target in enumerate(targets):
            loc_t, conf_t, pos, sel = self.image_terms(loc_data[i], conf_data[i], priors, target)
            loss_l = loss_l + F.smooth_l1_loss(loc_data[i][pos], loc_t[pos], reduction="sum")
            loss_c = loss_c + F.cross_entropy(conf_data[i][sel], conf_t[sel], reduction="sum")
            n += int(pos.sum())
        n = max(n, 1)
        return loss_l / n, loss_c / n


class MultiBoxLossKDReference(MultiBoxLossReference):
    """Per-image MultiBoxLoss_KD; same call and return as :class:`paddle_conv.losses.MultiBoxLoss_KD`."""

    def __init__(self, num_classes=21, overlap_thresh=0.5, neg_pos=3, variance=(0.1, 0.2), negatives_for_hard=100.0,
                 neg_w=1.5, pos_w=1.0, T=1.0, reg_m=0.0):
        super().__init__(num_classes, overlap_thresh, neg_pos, variance, negatives_for_hard)
        self.neg_w, self.pos_w, self.T, self.reg_m = neg_w, pos_w, T, reg_m

    def forward(self, predictions, teacher, targets):
        loc_data, conf_data, priors = predictions
        loc_teach, conf_teach = (t.detach() for t in teacher)
        soft, l2, loss_c, loss_l = (loc_data.new_zeros(()) for _ in range(4))
        n = 0
        for i, target in enumerate(targets):
            loc_t, conf_t, pos, sel = self.image_terms(loc_data[i], conf_data[i], priors, target)
            loc_p = loc_data[i][pos]
            loss_l = loss_l + F.smooth_l1_loss(loc_p, loc_t[pos], reduction="sum")
            loss_c = loss_c + F.cross_entropy(conf_data[i][sel], conf_t[sel], reduction="sum")
            # Teacher-bounded L2 regression.
            dist_s = (loc_p - loc_t[pos]).pow(2).sum(1)
            dist_t = (loc_teach[i][pos] - loc_t[pos]).pow(2).sum(1)
            l2 = l2 + dist_s[dist_s + self.reg_m > dist_t].sum()
            # KL of the softened teacher and student: class-weighted where neg_w > 1, else the seed's KLDivLoss(sum)
            log_pt = F.log_softmax(conf_teach[i][sel] / self.T, dim=1)
            log_ps = F.log_softmax(conf_data[i][sel] / self.T, dim=1)
            if self.neg_w > 1:
                kl = log_pt.exp() * (log_pt - log_ps)
                kl = kl[:, 0].sum() * self.neg_w + kl[:, 1:].sum() * self.pos_w
            else:
                kl = F.kl_div(log_ps, log_pt.exp(), reduction="sum")
            soft = soft + kl * self.T**2
            n += int(pos.sum())
        n = max(n, 1)
        return soft / n, l2 / n, loss_c / n, loss_l / n
