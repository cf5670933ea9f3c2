"""PaddleClas's multi-label loss: a binary cross-entropy per attribute (PULC person/vehicle attributes)."""

import paddle
import paddle.nn.functional as F

from ..registry import register_loss


@register_loss
class MultiLabelLoss(paddle.nn.Layer):
    """Sigmoid binary cross-entropy of logits ``[N, C]`` and 0/1 labels ``[N, C]`` (or ``[N, 2, C]`` with each
    attribute's positive ratio), as PaddleClas's ``MultiLabelLoss``.

    ``epsilon``: label smoothing where in (0, 1); ``size_sum``: sum over attributes, mean over the batch;
    ``weight_ratio``: weigh a term by ``exp(1 - ratio)`` (positive) or ``exp(ratio)``, labels ``-1`` left out."""

    def __init__(self, epsilon=None, size_sum=False, weight_ratio=False):
        super().__init__()
        self.epsilon = epsilon if epsilon is not None and 0 < epsilon < 1 else None
        self.size_sum, self.weight_ratio = size_sum, weight_ratio

    def forward(self, logits: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
        ratio = None
        if label.ndim == 3:
            label, ratio = label[:, 0, :], label[:, 1, :]
        label = label.astype(logits.dtype)
        if self.epsilon is not None:
            label = label * (1.0 - self.epsilon) + self.epsilon / logits.shape[-1]
        cost = F.binary_cross_entropy_with_logits(logits, label, reduction="none")
        if self.weight_ratio:
            if ratio is None:
                raise ValueError("MultiLabelLoss.weight_ratio needs the label ratios: set the data set's "
                                 "label_ratio: true")
            positive = (label > 0.5).astype(logits.dtype)
            weight = paddle.exp(positive * (1.0 - ratio) + (1.0 - positive) * ratio)
            cost = cost * weight * (label > -1).astype(logits.dtype)
        return cost.sum(1).mean() if self.size_sum else cost.mean()
