"""Published weights (listed on the model cards): the download cache and loading them (docs/pretrained.md)."""
