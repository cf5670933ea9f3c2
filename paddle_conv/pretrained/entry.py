"""One published weights file for one model: the record a model card lists under ``weights``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WeightEntry:
    """Where a weights file is, what it holds and how it becomes our state dict.

    Attributes:
        model: the registered model name the weights fit.
        name: the entry's name among the model's weights (``create_model(m, pretrained=name)``).
        urls: download addresses, tried in order (Google Drive share links are resolved).
        file_name: the cache file name (``$PADDLE_CONV_HOME/downloads/<file_name>``).
        file_format: ``"torch"`` (an upstream ``.pth``), ``"paddle"`` (``.pdparams``) or ``"keras"``.
        converter: how the file becomes our state dict: ``"torch"`` (weights_bridge) or ``"paddle"``.
        sha256: the file's SHA-256 (or the leading hex digits its publisher gives); None: unknown,
            printed on first download for the user to pin.
        md5: the MD5 a publisher gives instead of a SHA-256 (Paddle's model zoo).
        license, upstream, dataset: provenance.
        metrics: published numbers, e.g. ``{"top1": 77.64}`` (percent) or ``{"mAP": 77.43}``.
        num_classes, input_size, mean, std: what the weights were trained with.
    """

    model: str
    name: str
    urls: tuple
    file_name: str
    file_format: str
    converter: str
    license: str
    upstream: str
    dataset: str
    metrics: dict = field(default_factory=dict)
    num_classes: int = 1000
    input_size: tuple = (3, 224, 224)
    mean: tuple = (0.485, 0.456, 0.406)
    std: tuple = (0.229, 0.224, 0.225)
    sha256: str | None = None
    md5: str | None = None

    def __hash__(self):  # metrics is a dict: hash by identity of the record
        return hash((self.model, self.name))
