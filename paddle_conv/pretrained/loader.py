"""Load published or user-given weights into a freshly built model (docs/pretrained.md): ``pretrained`` is ``True``
(the first weight entry), an entry name, a ``.pdparams`` / upstream ``.pth`` path or an ``http(s)://`` URL."""

from __future__ import annotations

import functools
import importlib
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Sequence, Union

import paddle

from ..cards import WeightEntry
from ..errors import WeightsError, listed_names
from ..io import atomic_paddle_save, open_user_file
from ..registry import CONVERTERS
from ..state_dict import compare_state, read_state_dict
from .download import cache_dir, fetch, set_aside, source_digest, url_file_name

__all__ = ["Pretrained", "converter", "load_weights", "resolve_entry"]

Pretrained = Union[bool, str, os.PathLike]
TORCH_SUFFIXES = (".pth", ".pt", ".pth.tar", ".tar", ".ckpt", ".bin")


def resolve_entry(model_name: str, entries: Sequence[WeightEntry], pretrained: Pretrained) -> WeightEntry | None:
    """The weight entry ``pretrained`` names (``True``: the first), or None for a path or URL."""
    if pretrained is True:
        if not entries:
            raise WeightsError(f"model {model_name!r} has no published weights; pass pretrained='<path to a "
                               ".pdparams or upstream .pth>' or train it (paddle_conv.list_pretrained() lists "
                               "the models that have some)")
        return entries[0]
    by_name = {entry.name: entry for entry in entries}
    if isinstance(pretrained, str) and pretrained in by_name:
        return by_name[pretrained]
    if isinstance(pretrained, str) and not _is_url(pretrained) and not os.path.exists(pretrained) \
            and not os.path.exists(pretrained + ".pdparams") and os.sep not in pretrained and "." not in pretrained:
        known = ", ".join(by_name) or "none"
        raise WeightsError(f"model {model_name!r} has no weights named {pretrained!r} (known: {known}); pass "
                           "True, one of those names, a file path or a URL")
    return None


def load_weights(model: paddle.nn.Layer, model_name: str, entries: Sequence[WeightEntry], pretrained: Pretrained,
                 classifier: str | None, num_classes: int | None = None, optional: Sequence[str] = ()) -> dict:
    """Load the weights ``pretrained`` names into ``model``: ``{"file", "loaded", "reinitialised"}``.

    ``classifier`` (the card's, e.g. ``"fc"``) may differ in shape and is then left at its init; ``num_classes``:
    the weights' class count for a torch file by path or URL (default: the model's); ``optional``: the card's
    ``optional_layers``, skipped where the model was built without them."""
    entry = resolve_entry(model_name, entries, pretrained)
    if entry is not None:
        source = fetch(entry.urls, entry.file_name, sha256=entry.sha256, md5=entry.md5, size=entry.size)
        digest = source_digest(entry.urls, entry.sha256, entry.md5)
        state = _as_paddle_state(source, entry.converter, model_name, entry.num_classes, downloaded=True,
                                 cache=cache_dir() / "converted" / f"{model_name}-{entry.name}-{digest}.pdparams")
    else:
        text = os.fspath(pretrained)
        source = fetch(text, url_file_name(text)) if _is_url(text) else _local_file(text)
        file_format = "torch" if source.suffix.lower() in TORCH_SUFFIXES or _is_zip(source) else "paddle"
        state = _as_paddle_state(source, file_format, model_name, num_classes or _class_count(model, classifier),
                                 downloaded=_is_url(text))
    return _assign(model, state, classifier, source, optional)


def _is_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme in ("http", "https")


def _is_zip(path: Path) -> bool:
    with open_user_file(path, "weights", "pretrained weights") as f:
        return f.read(4) == b"PK\x03\x04"


def _local_file(pretrained: str) -> Path:
    path = Path(pretrained)
    if not path.exists() and Path(pretrained + ".pdparams").exists():  # a checkpoint prefix, as PaddleClas gives
        path = Path(pretrained + ".pdparams")
    if not path.exists():
        raise WeightsError(f"pretrained weights {pretrained!r} do not exist or are not a file; pass True, a weights "
                           "name listed by paddle_conv.list_pretrained(), a .pdparams / .pth path or a URL")
    return path


def _class_count(model: paddle.nn.Layer, classifier: str | None) -> int | None:
    for name, tensor in model.state_dict().items():
        if classifier and name.startswith(classifier + ".") and len(tensor.shape) >= 1:
            return int(tensor.shape[-1] if name.endswith("weight") and len(tensor.shape) == 2 else tensor.shape[0])
    return None


def _as_paddle_state(source: Path, file_format: str, model_name: str, num_classes: int | None,
                     cache: Path | None = None, downloaded: bool = False) -> dict:
    """Our state dict for ``source``, converted (and cached) when it is not Paddle's own."""
    if file_format == "paddle":
        return _read(read_state_dict, source, downloaded)
    if cache is not None and cache.exists():
        try:
            return read_state_dict(str(cache), "cached converted weights")
        except WeightsError as exc:
            print(f"{exc}; moved aside to {set_aside(cache)}, converting {source.name} again", file=sys.stderr)
    read = functools.partial(_read, source=source, downloaded=downloaded)  # read(reader): the file's content
    state = converter(file_format, source.name)(read, model_name, num_classes)
    if cache is not None:
        atomic_paddle_save(state, str(cache))
        print(f"converted {source.name} for {model_name}; cached as {cache}", file=sys.stderr)
    return state


def _read(reader, source: Path, downloaded: bool):
    """``reader(source)``; a ``downloaded`` file it cannot read is moved aside, so the next call fetches it again."""
    try:
        return reader(str(source), "pretrained weights")
    except WeightsError as exc:
        if not downloaded:
            raise
        raise WeightsError(f"{exc} (the downloaded file was moved aside to {set_aside(source)}: the next call "
                           "downloads it again)") from None


#: Format -> the plugin module that registers its converter into :data:`paddle_conv.registry.CONVERTERS`.
CONVERTER_PROVIDERS = {"torch": "weights_bridge"}


def converter(file_format: str, source_name: str):
    """The converter of ``file_format`` (its provider imported on first use), called as ``converter(read,
    model_name, num_classes)`` with ``read(reader)`` the file read by ``reader(path, what)``."""
    if file_format not in CONVERTERS and file_format in CONVERTER_PROVIDERS:
        try:
            importlib.import_module(CONVERTER_PROVIDERS[file_format])
        except ImportError:
            raise WeightsError(f"{source_name} is a PyTorch file; converting it needs PyTorch: "
                               "pip install -e '.[torch]' (or convert it elsewhere with tools/convert_weights.py "
                               "and pass the .pdparams)") from None
    if file_format not in CONVERTERS:
        raise WeightsError(f"{source_name}: no converter for {file_format!r} weights is registered (known: "
                           f"{', '.join(CONVERTERS.names()) or 'none'}); import the plugin that provides it")
    return CONVERTERS.get(file_format)


def _assign(model: paddle.nn.Layer, state: dict, classifier: str | None, source: Path,
            optional: Sequence[str] = ()) -> dict:
    own = model.state_dict()
    missing, unexpected, mismatched = compare_state(own, state)
    mismatched = [k for k, _, _ in mismatched]
    left_out = [k for k in unexpected if k.startswith(tuple(f"{layer}." for layer in optional))]
    if left_out:
        print(f"skipped {', '.join(left_out)} of {source.name}: the model was built without those layers",
              file=sys.stderr)
    unexpected = [k for k in unexpected if k not in left_out]
    head = [k for k in mismatched if classifier and k.startswith(classifier + ".")]
    problems = [k for k in missing + unexpected + mismatched if k not in head]
    if problems:
        raise WeightsError(f"pretrained weights {source} do not fit the model: {listed_names(problems, 5)} "
                           "(missing, unexpected or mis-shaped); they belong to another architecture or configuration")
    model.set_state_dict({k: own[k] if k in head else state[k] for k in own})
    if head:
        print(f"loaded {source.name} except the classifier {classifier!r} ({', '.join(head)}): its class count "
              "differs, so it starts from its initial values", file=sys.stderr)
    return {"file": str(source), "loaded": [k for k in own if k not in head], "reinitialised": head}
