"""Name -> builder registries.

One :class:`Registry` class serves every kind of named component: models (``MODELS``),
and, in their own modules, losses, optimizers, schedulers and data sets. A misspelled name
raises :class:`~paddle_conv.errors.UnknownNameError` listing the closest registered names.

Example::

    @register_model
    def oct_resnet50(num_classes=1000, alpha=0.5): ...

    model = create_model("oct_resnet50", num_classes=10)
"""

import difflib
import fnmatch

from .errors import UnknownNameError


class Registry:
    """A mapping from names to builders (functions or classes) of one kind of component.

    Args:
        kind: what the registry holds, used in error messages (e.g. ``"model"``).
    """

    def __init__(self, kind):
        self.kind = kind
        self._entries = {}

    def register(self, fn=None, *, name=None):
        """Register ``fn`` under ``name`` (default: ``fn.__name__``); usable as a decorator."""

        def add(obj):
            key = name or obj.__name__
            if key in self._entries and self._entries[key] is not obj:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = obj
            return obj

        return add if fn is None else add(fn)

    def get(self, name):
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

    def build(self, name, **kwargs):
        """Build the component registered as ``name`` with ``kwargs``."""
        return self.get(name)(**kwargs)

    def names(self, pattern=None):
        """Sorted registered names, optionally filtered by a shell-style ``pattern``."""
        names = sorted(self._entries)
        return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]

    def __contains__(self, name):
        return name in self._entries

    def __len__(self):
        return len(self._entries)


MODELS = Registry("model")
register_model = MODELS.register


def create_model(name, **kwargs):
    """Build the registered model ``name``, e.g. ``create_model("oct_resnet50", num_classes=10)``."""
    return MODELS.build(name, **kwargs)


def list_models(pattern=None):
    """Registered model names, optionally filtered by a shell-style pattern (``"oct_*"``)."""
    return MODELS.names(pattern)
