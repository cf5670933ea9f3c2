"""The schema of a classification config, in PaddleClas's layout (``configs/oct_mobilenet.yaml``).

One module per section: :mod:`.global_keys` (``Global``, ``AMP``, ``EMA``), :mod:`.arch_keys`,
:mod:`.loss_keys`, :mod:`.optimizer_keys`, :mod:`.dataloader_keys`, :mod:`.metric_keys` and
:mod:`.infer_keys`; :data:`SCHEMA` puts them together. To add a key, add a
:class:`~paddle_conv.config.schema.Key` to its section's dict; names inside a section (a model,
loss, optimizer, LR schedule, data set, transform, metric) come from their registries, and
their arguments are checked against the registered builder's signature.

Example::

    cfg = load_config("configs/oct_mobilenet.yaml", ["Global.epochs=3", "Arch.alpha=0.25"])
    cfg["Global"]["epochs"]   # 3
"""

from ..errors import config_error
from .arch_keys import validate_arch
from .dataloader_keys import DATALOADER
from .global_keys import validate_amp, validate_ema, validate_global
from .infer_keys import INFER
from .loss_keys import LOSS
from .metric_keys import METRIC
from .optimizer_keys import validate_optimizer
from .schema import Key


def _ml_decoder(source, path, value):
    """PaddleClas's ``MLDecoder`` section (MultiLabelCOCO's ML-Decoder head): refused with the reason."""
    raise config_error(source, path, "bad value", "ML-Decoder (a cross-attention classification head replacing "
                       "the model's pooling and classifier, MultiLabelCOCO) is not implemented; remove the section "
                       "and Arch.use_ml_decoder to train the model's own head")

#: The schema of a classification config (PaddleClas's layout).
SCHEMA = {
    "Global": Key(validate_global, required=True),
    "Arch": Key(validate_arch, required=True, doc="name: a registered model, plus its builder arguments"),
    "Loss": Key(LOSS, required=True),
    "Optimizer": Key(validate_optimizer, required=True, doc="name: Momentum | Adam | AdamW, lr: {...}"),
    "DataLoader": Key(DATALOADER, required=True),
    "Metric": Key(METRIC),
    "AMP": Key(validate_amp, nullable=True, doc="use_amp, scale_loss, use_dynamic_loss_scaling, level, ..."),
    "EMA": Key(validate_ema, nullable=True, doc="decay: exponential moving average of the weights"),
    "MLDecoder": Key(_ml_decoder, nullable=True, doc="PaddleClas's ML-Decoder head: refused"),
    "Infer": Key(INFER, doc="infer_imgs, batch_size, transforms, PostProcess (tools/infer.py and export)"),
}
