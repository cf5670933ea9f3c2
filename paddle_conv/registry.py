"""Name -> builder registries (models with their cards, converters, references, data sets, losses, ...); a
misspelled name raises :class:`~paddle_conv.errors.UnknownNameError` listing the closest registered names."""

import difflib
import fnmatch
from typing import Any, Callable, List, Optional, TypeVar

from .cards import TASKS, ModelCard
from .errors import UnknownNameError
from .plugins import load_plugins

T = TypeVar("T", bound=Callable[..., Any])


class Registry:
    """Names -> builders (functions or classes) of one ``kind`` of component (``"model"``: named in errors);
    ``plugins``: load ``$PADDLE_CONV_PLUGINS`` before the first lookup."""

    def __init__(self, kind: str, plugins: bool = False) -> None:
        self.kind = kind
        self._entries: dict = {}
        self._plugins_pending = plugins

    def _load_plugins(self) -> None:
        if self._plugins_pending:
            self._plugins_pending = False
            load_plugins()

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
        self._load_plugins()
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
        self._load_plugins()
        names = sorted(self._entries)
        return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._entries

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)


class ModelRegistry(Registry):
    """The model registry: builders and their :class:`~paddle_conv.cards.ModelCard`."""

    def __init__(self) -> None:
        super().__init__("model", plugins=True)
        self._cards: dict = {}

    def register(self, fn: Optional[T] = None, *, name: Optional[str] = None,
                 card: Optional[ModelCard] = None) -> Any:
        """Register the builder ``fn`` under ``name`` with its ``card`` (default: ``ModelCard()``); a decorator too."""

        def add(obj: T) -> T:
            key = name or obj.__name__
            for entry in card.weights if card is not None else ():
                if entry.model != key:
                    raise ValueError(f"weights {entry.name!r} fit model {entry.model!r}, not {key!r}")
            Registry.register(self, obj, name=key)
            self._cards[key] = card if card is not None else ModelCard()
            return obj

        return add if fn is None else add(fn)

    def card(self, name: str) -> ModelCard:
        """The card of the registered model ``name`` (UnknownNameError naming the closest)."""
        self.get(name)
        return self._cards[name]

    def filter(self, pattern: Optional[str] = None, task: Optional[str] = None,
               pretrained: Optional[bool] = None) -> List[str]:
        """Sorted names matching ``pattern`` whose card has ``task`` and (with ``pretrained``) weights or none."""
        return [n for n in self.names(pattern)
                if (task is None or self._cards[n].task == task)
                and (pretrained is None or self._cards[n].pretrained == pretrained)]


MODELS = ModelRegistry()
#: Register a model builder (function or class) with its card: ``@register_model(card=ModelCard(...))``.
register_model = MODELS.register
#: The :class:`~paddle_conv.cards.ModelCard` of the registered model ``name``.
model_card = MODELS.card


def register_variant(name: str, build: T, card: ModelCard, doc: str) -> T:
    """Register ``build``, made per model by a family's factory, as ``name`` (its ``__name__``) with ``doc``."""
    build.__name__ = build.__qualname__ = name
    build.__doc__ = doc
    return MODELS.register(build, name=name, card=card)


def list_models(pattern: Optional[str] = None, task: Optional[str] = None,
                pretrained: Optional[bool] = None) -> List[str]:
    """Registered model names, sorted; filtered by a shell-style ``pattern`` (``"oct_*"``), a ``task``
    (``"classification"``, ``"detection"``) and ``pretrained`` (True: with published weights; False: without)."""
    if task is not None and task not in TASKS:
        raise UnknownNameError(f"unknown task {task!r}; one of: {', '.join(TASKS)}")
    return MODELS.filter(pattern, task, pretrained)


#: ``weights format -> fn(path, model_name, num_classes) -> Paddle state dict``: how a weights file that is not
#: Paddle's own becomes ours. A bridge registers its format (:mod:`weights_bridge` registers ``"torch"``); a
#: weights entry's ``converter`` names the one it needs (:func:`paddle_conv.pretrained.loader.converter`).
CONVERTERS = Registry("weights converter")

#: ``model name -> builder of its PyTorch reference`` (``torch.nn.Module``), registered by the bridge or a plugin.
REFERENCES = Registry("torch reference model", plugins=True)
register_reference = REFERENCES.register

#: ``Arch`` keys that transform the built network, e.g. ``Arch.refocus``: ``key -> fn(network, **options)``, its
#: ``options`` attribute declaring ``{option: (default, int | bool | tuple of the allowed values, doc)}``
#: (the config's keys under ``Arch.<key>``); registered by the module defining it (:mod:`paddle_conv.refconv`).
ARCH_TRANSFORMS = Registry("Arch transform")

#: Data sets (``DataLoader.*.dataset.name``) and losses (``Loss.Train``), registered by their modules.
DATASETS = Registry("dataset")
register_dataset = DATASETS.register
LOSSES = Registry("loss")
register_loss = LOSSES.register
