"""The project's own exception types: every error raised on bad user input derives from :class:`PaddleConvError`."""

import re


class PaddleConvError(Exception):
    """Base class of every error paddle_conv raises on bad input."""


class UnknownNameError(PaddleConvError, KeyError):
    """A name (model, loss, optimizer, data set, ...) that no registry knows."""

    def __str__(self):  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else ""


class ConfigError(PaddleConvError, ValueError):
    """A configuration file, ``-o`` override or ``Arch`` dict that cannot be used as written (:func:`config_error`)."""

    source = key_path = text = None
    problem = "bad value"


#: The ``problem`` codes a :func:`config_error` carries.
PROBLEMS = (
    "unreadable file",   # the file does not exist or is not valid YAML
    "bad override",      # an -o item that is not KEY=VALUE
    "unknown key",       # a key the schema (or the builder's signature) does not have
    "wrong type",        # a value of the wrong type
    "missing key",       # a required key is absent
    "bad value",         # right type, unusable value (conflict, empty list, ...)
    "unknown name",      # a name no registry knows (raised as UnknownNameError)
)


def config_error(source, key_path, problem, text, cls=ConfigError):
    """The one way a config error is built: ``cls`` for ``problem`` (:data:`PROBLEMS`) at ``key_path`` of ``source``
    (a file, ``-o KEY=VALUE`` or None), saying ``"<source>: <key_path>: <text>"`` and carrying all four."""
    where = (f"{source}: " if source is not None else "") + (f"{key_path}: " if key_path else "")
    exc = cls(where + text)
    exc.source, exc.key_path, exc.problem, exc.text = source, key_path, problem, text
    return exc


class WeightsError(PaddleConvError, ValueError):
    """A checkpoint that does not fit the model it is loaded into."""


class DataError(PaddleConvError, ValueError):
    """A data set root, list file, image or label that cannot be used."""


class OutputError(PaddleConvError, OSError):
    """An output path that cannot be written: ``OutputError(errno, message)``; ``str()`` is the message alone."""

    def __str__(self):
        return self.strerror if self.strerror is not None else super().__str__()


#: A key a message may quote as written: a plain name (``Global``, ``lr.decay_epochs``).
PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def key_text(key, quote=""):
    """``key`` as a message may show it: itself (between ``quote`` marks) when a plain name (:data:`PLAIN_KEY`),
    else a description, so a file that is no config (``-c /etc/shadow``) is never quoted."""
    text = str(key)
    if PLAIN_KEY.fullmatch(text):
        return f"{quote}{text}{quote}"
    return f"<a {type(key).__name__} key of {len(text)} characters that is not a plain name>"


def listed_names(names, limit=8):
    """``"a, b, c ... and N more"``: the first ``limit`` of ``names``, so a message stays short."""
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f" ... and {len(names) - limit} more" if len(names) > limit else "")


def abbreviate(value, limit=120):
    """``repr(value)`` cut to about ``limit`` characters, built piecewise (a YAML alias bomb can be huge)."""
    parts, size = [], 0
    for piece in _repr_pieces(value):
        parts.append(piece)
        size += len(piece)
        if size > limit:
            return "".join(parts)[:limit] + f"... ({_size_hint(value)})"
    return "".join(parts)


def _repr_pieces(value, depth=0):
    """``repr(value)`` as a lazy sequence of pieces (containers walked, never repr'd whole)."""
    if depth > 20:
        yield "..."
    elif isinstance(value, (list, tuple, dict)):
        is_dict = isinstance(value, dict)
        brackets = "{}" if is_dict else "[]" if isinstance(value, list) else "()"
        yield brackets[0]
        for i, (key, item) in enumerate(value.items() if is_dict else ((None, item) for item in value)):
            if i:
                yield ", "
            if is_dict:
                yield from _repr_pieces(key, depth + 1)
                yield ": "
            yield from _repr_pieces(item, depth + 1)
        yield brackets[1]
    elif isinstance(value, (str, bytes)):
        yield repr(value[:200])
    else:
        yield repr(value)[:200]


def _size_hint(value):
    if isinstance(value, (str, bytes)):
        return f"{type(value).__name__} of {len(value)} characters"
    if isinstance(value, (list, tuple, dict)):
        return f"{type(value).__name__} of {len(value)} items"
    return type(value).__name__
