"""Name -> builder registries.

One :class:`Registry` class serves every kind of named component: models (``MODELS``, a
:class:`ModelRegistry` that also keeps each model's :class:`~paddle_conv.cards.ModelCard`),
and, in their own modules, losses, optimizers, schedulers and data sets. A misspelled name
raises :class:`~paddle_conv.errors.UnknownNameError` listing the closest registered names.

Example::

    @register_model(card=ModelCard(upstream="d-li14/octconv.pytorch", layout="d-li14/octconv.pytorch"))
    def oct_resnet50(num_classes=1000, alpha=0.5): ...

    model = create_model("oct_resnet50", num_classes=10)
    list_models(task="classification", pretrained=False)
"""

import dataclasses
import difflib
import fnmatch
from typing import Any, Callable, List, Optional, TypeVar

from .cards import TASKS, ModelCard, WeightEntry
from .errors import UnknownNameError
from .pretrained.download import download_path
from .pretrained.loader import Pretrained, load_weights, resolve_entry

T = TypeVar("T", bound=Callable[..., Any])


class Registry:
    """A mapping from names to builders (functions or classes) of one kind of component.

    Args:
        kind: what the registry holds, used in error messages (e.g. ``"model"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict = {}

    def register(self, fn: Optional[T] = None, *, name: Optional[str] = None) -> Any:
        """Register ``fn`` under ``name`` (default: ``fn.__name__``); usable as a decorator."""

        def add(obj: T) -> T:
            key = name or obj.__name__
            if key in self._entries and self._entries[key] is not obj:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = obj
            return obj

        return add if fn is None else add(fn)

    def get(self, name: str) -> Callable[..., Any]:
        """Return the builder registered as ``name``; raise UnknownNameError naming the closest."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            pass
        close = difflib.get_close_matches(str(name), list(self._entries), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}.{hint} "
            f"Registered {self.kind}{'es' if self.kind.endswith('s') else 's'}: {', '.join(sorted(self._entries))}."
        )

    def build(self, name: str, **kwargs: Any) -> Any:
        """Build the component registered as ``name`` with ``kwargs``."""
        return self.get(name)(**kwargs)

    def names(self, pattern: Optional[str] = None) -> List[str]:
        """Sorted registered names, optionally filtered by a shell-style ``pattern``."""
        names = sorted(self._entries)
        return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


class ModelRegistry(Registry):
    """The model registry: builders and their :class:`~paddle_conv.cards.ModelCard`."""

    def __init__(self) -> None:
        super().__init__("model")
        self._cards: dict = {}

    def register(self, fn: Optional[T] = None, *, name: Optional[str] = None,
                 card: Optional[ModelCard] = None) -> Any:
        """Register the builder ``fn`` under ``name`` with its ``card``; usable as a decorator.

        Without a ``card`` the model gets the default one (an ImageNet-style classifier with an
        ``fc`` layer at 224x224); every model of this package passes its own.
        """

        def add(obj: T) -> T:
            key = name or obj.__name__
            Registry.register(self, obj, name=key)
            self._cards[key] = card if card is not None else ModelCard()
            return obj

        return add if fn is None else add(fn)

    def card(self, name: str) -> ModelCard:
        """The card of the registered model ``name`` (UnknownNameError naming the closest)."""
        self.get(name)
        return self._cards[name]

    def add_weights(self, name: str, *entries: WeightEntry) -> None:
        """Append pretrained weight ``entries`` (each naming this model) to the card of ``name``."""
        for entry in entries:
            if entry.model != name:
                raise ValueError(f"weights {entry.name!r} fit model {entry.model!r}, not {name!r}")
        card = self.card(name)
        self._cards[name] = dataclasses.replace(card, weights=card.weights + tuple(entries))

    def filter(self, pattern: Optional[str] = None, task: Optional[str] = None,
               pretrained: Optional[bool] = None) -> List[str]:
        """Sorted names matching ``pattern`` whose card has ``task`` and (with ``pretrained``) weights or none."""
        return [n for n in self.names(pattern)
                if (task is None or self._cards[n].task == task)
                and (pretrained is None or self._cards[n].pretrained == pretrained)]


MODELS = ModelRegistry()


def register_model(fn: Optional[T] = None, *, name: Optional[str] = None, card: Optional[ModelCard] = None) -> Any:
    """Register a model builder (function or class) with its card: ``@register_model(card=ModelCard(...))``."""
    return MODELS.register(fn, name=name, card=card)


def create_model(name: str, pretrained: Pretrained = False, **kwargs: Any) -> Any:
    """Build the registered model ``name``, e.g. ``create_model("oct_resnet50", num_classes=10)``.

    Args:
        pretrained: False (random init), True (the card's first weights), a weights name of the
            card, a path (``.pdparams`` or an upstream ``.pth``, converted) or an ``http(s)://`` URL;
            downloaded and converted on first use (see :mod:`paddle_conv.pretrained`). Without
            ``num_classes`` the model takes the named weights' class count; with another one,
            every weight but the classifier's is loaded.
        **kwargs: the builder's arguments.
    """
    return build_then_load(name, pretrained, kwargs)


def build_then_load(name: str, pretrained: Pretrained, kwargs: dict,
                    prepare: Optional[Callable[[Any], None]] = None) -> Any:
    """:func:`create_model` with ``prepare(model)`` run on the freshly built model before the
    pretrained weights load (an init-time change, e.g. PaddleClas's ``head_init_scale``, that
    loaded weights then replace)."""
    card = MODELS.card(name)
    entry = resolve_entry(name, card.weights, pretrained) if pretrained else None
    if entry is not None:
        kwargs = {"num_classes": entry.num_classes, **kwargs}
    model = MODELS.build(name, **kwargs)
    if prepare is not None:
        prepare(model)
    if pretrained:
        load_weights(model, name, card.weights, pretrained, card.classifier)
    return model


def model_card(name: str) -> ModelCard:
    """The :class:`~paddle_conv.cards.ModelCard` of the registered model ``name``."""
    return MODELS.card(name)


def list_models(pattern: Optional[str] = None, task: Optional[str] = None,
                pretrained: Optional[bool] = None) -> List[str]:
    """Registered model names, sorted, optionally filtered.

    Args:
        pattern: shell-style pattern on the name (``"oct_*"``).
        task: only models of this task (``"classification"`` or ``"detection"``).
        pretrained: True: only models with pretrained weights; False: only those without.
    """
    if task is not None and task not in TASKS:
        raise UnknownNameError(f"unknown task {task!r}; one of: {', '.join(TASKS)}")
    return MODELS.filter(pattern, task, pretrained)


def list_pretrained(pattern: Optional[str] = None) -> List[dict]:
    """One row per published weights file of the models matching ``pattern``: model, name,
    dataset, metrics, class count, upstream, the file's cache path and whether it is there."""
    rows = []
    for model in MODELS.filter(pattern, pretrained=True):
        for entry in MODELS.card(model).weights:
            path = download_path(entry.file_name, entry.urls, entry.sha256, entry.md5)
            rows.append({"model": model, "name": entry.name, "dataset": entry.dataset, "metrics": entry.metrics,
                         "num_classes": entry.num_classes, "upstream": entry.upstream, "path": str(path),
                         "cached": path.is_file()})
    return rows


def weights_table() -> str:
    """The Markdown table of every published weights file, one row per model (README and
    docs/pretrained.md show it; a test keeps them in sync)."""
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
