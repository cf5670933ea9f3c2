"""Cross-entropy with optional label smoothing, and the weighted sum of a config's losses."""

import paddle
import paddle.nn.functional as F

from ..registry import register_loss


@register_loss
class CELoss(paddle.nn.Layer):
    """Softmax cross-entropy of logits ``[N, C]`` and int labels ``[N]`` / ``[N, 1]`` or soft targets ``[N, C]``
    (Mixup/CutMix), as PaddleClas's ``CELoss``; ``epsilon``: label smoothing in [0, 1) (None or 0: none)."""

    def __init__(self, epsilon=None):
        super().__init__()
        eps = 0.0 if epsilon is None else float(epsilon)
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"CELoss epsilon must be in [0, 1), got {epsilon}")
        self.epsilon = eps

    def forward(self, logits: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
        if label.ndim == logits.ndim and label.shape[-1] == logits.shape[-1] and label.shape[-1] > 1:  # soft targets
            targets = label.astype(logits.dtype)
            if self.epsilon:
                targets = targets * (1.0 - self.epsilon) + self.epsilon / logits.shape[-1]
            return -(targets * F.log_softmax(logits, axis=-1)).sum(axis=-1).mean()
        if label.ndim == logits.ndim:
            label = label.squeeze(-1)
        return F.cross_entropy(logits, label, label_smoothing=self.epsilon)


@register_loss
class MixCELoss(CELoss):
    """:class:`CELoss` under its older PaddleClas name (configs before 2.6)."""


class CombinedLoss(paddle.nn.Layer):
    """``sum(weight_i * loss_i(logits, label))`` of ``[(weight, loss_layer), ...]``: a scalar."""

    def __init__(self, weighted_losses):
        super().__init__()
        self.weights = [w for w, _ in weighted_losses]
        self.losses = paddle.nn.LayerList([loss for _, loss in weighted_losses])

    def forward(self, logits: paddle.Tensor, label: paddle.Tensor) -> paddle.Tensor:
        return sum(w * loss(logits, label) for w, loss in zip(self.weights, self.losses))
