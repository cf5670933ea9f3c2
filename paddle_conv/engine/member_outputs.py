"""A DistillationModel's ``{member: logits}`` through ``paddle.Model`` (tensor outputs only): a tuple in
member order for the model, the dict again for the loss and metrics (:func:`for_paddle_model`)."""

from functools import partial

import paddle

from ..metrics import WrappedMetric
from ..models.distillation import DistillationModel


class MemberTuple(paddle.nn.Layer):
    """``network(x)`` of a DistillationModel as a tuple of its members' logits, in member order."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, x):
        out = self.network(x)
        return tuple(out[name] for name in self.network.member_names)


def _as_members(names, *args):
    """``({name: logits}, *labels)`` of ``paddle.Model``'s ``(*outputs, *labels)``."""
    return (dict(zip(names, args[:len(names)])), *args[len(names):])


class MembersLoss(paddle.nn.Layer):
    """``loss({member: logits}, *labels)`` of ``paddle.Model``'s ``(*member logits, *labels)``."""

    def __init__(self, loss, names):
        super().__init__()
        self.loss, self.names = loss, list(names)

    def forward(self, *args):
        return self.loss(*_as_members(self.names, *args))


def for_paddle_model(network, loss, metrics):
    """``(network, loss, metrics)`` for ``paddle.Model``: a DistillationModel's adapted as above (the metrics
    computed on ``({member: logits}, *labels)``)."""
    if not isinstance(network, DistillationModel):
        return network, loss, metrics
    names = list(network.member_names)
    return MemberTuple(network), MembersLoss(loss, names), [WrappedMetric(m, partial(_as_members, names))
                                                            for m in metrics]
