"""PaddleClas 2.6 names (losses, data sets, optimizers, metrics) that are not implemented here, and why:
a config naming one is refused with the reason instead of "unknown name"."""

from ..errors import config_error

#: ``name -> why it is refused`` (the fix is in the text).
PADDLECLAS_ONLY = {
    "DistillationMultiLabelLoss": "multi-label distillation is not implemented; train the multi-label Student "
                                  "alone with MultiLabelLoss",
    "MultiLabelAsymmetricLoss": "ML-Decoder's asymmetric loss (MultiLabelCOCO) is not implemented; use "
                                "MultiLabelLoss",
    "AdamWDL": "AdamW with layer-wise learning-rate decay over a ViT's blocks (CLIP and CAE fine-tuning) is "
               "not implemented; use AdamW",
}


def refuse_paddleclas_only(source, path, name):
    """ConfigError at ``path`` when ``name`` is one of :data:`PADDLECLAS_ONLY`."""
    if isinstance(name, str) and name in PADDLECLAS_ONLY:
        raise config_error(source, path, "bad value", f"{name}: {PADDLECLAS_ONLY[name]}")
