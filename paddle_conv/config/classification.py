"""The schema of a classification config, in PaddleClas's layout: one module per section (a Key per key)."""

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
