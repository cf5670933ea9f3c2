"""DistillationModel: several classifiers on one input, as PaddleClas's (docs/paddleclas.md): ``forward(x)`` returns
``{member name: logits [N, C]}``; a frozen member's parameters are not trainable, but it stays in training mode.
"""

from paddle import nn

__all__ = ["DISTILLATION_MODEL", "EVAL_MEMBER", "LOGITS_KEY", "DistillationModel"]

#: The ``Arch.name`` of a distillation model (PaddleClas's).
DISTILLATION_MODEL = "DistillationModel"
#: PaddleClas's key of a member's logits in its output dict; our members return only their logits.
LOGITS_KEY = "logits"
#: The member PaddleClas's evaluation measures with plain losses and metrics (``CELoss``, ``TopkAcc``).
EVAL_MEMBER = "Student"


class DistillationModel(nn.Layer):
    """Members ``[(name, layer), ...]`` run on one input; ``frozen``: names of members not trained;
    ``infer_model_name``: the member that export and inference use (None: not chosen)."""

    def __init__(self, members, frozen=(), infer_model_name=None):
        super().__init__()
        names = [name for name, _ in members]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"DistillationModel needs members with distinct names, got {names}")
        for name in list(frozen) + ([infer_model_name] if infer_model_name is not None else []):
            if name not in names:
                raise ValueError(f"DistillationModel has no member {name!r}; members: {', '.join(names)}")
        self.member_names = names
        self.infer_model_name = infer_model_name
        for name, layer in members:
            self.add_sublayer(name, layer)
            if name in frozen:
                for param in layer.parameters():
                    param.trainable = False

    @property
    def eval_member_name(self):
        """:data:`EVAL_MEMBER` when a member has that name (PaddleClas's evaluation measures it), else None."""
        return EVAL_MEMBER if EVAL_MEMBER in self.member_names else None

    def member(self, name):
        """The member layer called ``name``."""
        return self._sub_layers[name]

    def infer_model(self):
        """The member named by ``infer_model_name`` (ValueError when none is named)."""
        if self.infer_model_name is None:
            raise ValueError("DistillationModel.infer_model_name is not set: name the member to export")
        return self.member(self.infer_model_name)

    def forward(self, x):
        return {name: self._sub_layers[name](x) for name in self.member_names}
