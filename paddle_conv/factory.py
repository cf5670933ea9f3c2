"""Model creation, in one place: build a registered model (:mod:`paddle_conv.registry`) and load its weights."""

from typing import Any, Callable, List, Optional

from .pretrained.download import download_path
from .pretrained.loader import Pretrained, load_weights, resolve_entry
from .registry import MODELS

__all__ = ["build_then_load", "create_model", "list_pretrained", "weights_table"]


def create_model(name: str, pretrained: Pretrained = False, **kwargs: Any) -> Any:
    """Build the registered model ``name``, e.g. ``create_model("oct_resnet50", num_classes=10)``.

    ``pretrained``: False, True (the card's first weights), a weights name of the card, a path (``.pdparams``
    or an upstream ``.pth``) or a URL. Without ``num_classes`` the model takes the weights' class count;
    with another one, every weight but the classifier's loads. ``kwargs``: the builder's arguments.
    """
    return build_then_load(name, pretrained, kwargs)


def build_then_load(name: str, pretrained: Pretrained, kwargs: dict,
                    prepare: Optional[Callable[[Any], None]] = None) -> Any:
    """:func:`create_model` with ``prepare(model)`` run on the built model before its weights load."""
    card = MODELS.card(name)
    entry = resolve_entry(name, card.weights, pretrained) if pretrained else None
    if entry is not None:
        kwargs = {"num_classes": entry.num_classes, **kwargs}
    model = MODELS.build(name, **kwargs)
    if prepare is not None:
        prepare(model)
    if pretrained:
        load_weights(model, name, card.weights, pretrained, card.classifier, optional=card.optional_layers)
    return model


def list_pretrained(pattern: Optional[str] = None) -> List[dict]:
    """One row per published weights file of the models matching ``pattern``, with its cache path."""
    rows = []
    for model in MODELS.filter(pattern, pretrained=True):
        for entry in MODELS.card(model).weights:
            path = download_path(entry.file_name, entry.urls, entry.sha256, entry.md5)
            rows.append({"model": model, "name": entry.name, "dataset": entry.dataset, "metrics": entry.metrics,
                         "num_classes": entry.num_classes, "upstream": entry.upstream, "path": str(path),
                         "cached": path.is_file()})
    return rows


def weights_table() -> str:
    """The Markdown table of every published weights file, one row per model (README, docs/pretrained.md)."""
    lines = ["| model | `pretrained=`: data, published score | source |", "|---|---|---|"]
    for model in MODELS.filter(pretrained=True):
        weights = MODELS.card(model).weights
        cells = []
        for entry in weights:
            score = ", ".join(f"{k} {v:g}" for k, v in entry.metrics.items()) or "score not published"
            cells.append(f"`{entry.name}`: {entry.dataset}, {score}")
        sources = sorted({entry.upstream.split(" ")[0] for entry in weights})
        lines.append(f"| `{model}` | {'; '.join(cells)} | {', '.join(sources)} |")
    return "\n".join(lines)
