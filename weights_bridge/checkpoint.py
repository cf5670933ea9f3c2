"""Checkpoint files as published: the format by content, loaded by the safe loaders (no code from the file
runs), the state dict found through the usual wrappers and key prefixes (docs/weights-bridge.md)."""

import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import paddle
import torch

from paddle_conv.errors import WeightsError, listed_names
from paddle_conv.io import check_user_file, open_user_file, safe_paddle_load, safe_torch_load
from paddle_conv.pretrained.loader import TORCH_SUFFIXES

__all__ = ["Checkpoint", "FORMATS", "TORCH_SUFFIXES", "detect_format", "numpy_weights", "read_checkpoint",
           "to_numpy", "unwrap_state_dict"]

FORMATS = ("torch", "paddle", "keras")
#: the file name endings that say a format (the name decides only where the content cannot)
SUFFIX_FORMATS = {"torch": TORCH_SUFFIXES, "paddle": (".pdparams",), "keras": (".h5", ".keras")}
#: where training scripts keep the weights, in the order they are tried
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net", "model_ema", "state_dict_ema", "ema")
PREFIXES = ("module.", "_orig_mod.", "_layers.")
_TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # the first object of a legacy (non-zip) torch.save pickle
_HDF5 = b"\x89HDF\r\n\x1a\n"


def suffix_format(path):
    """``"torch"`` / ``"paddle"`` / ``"keras"`` from the file name, or None when it says nothing."""
    name = os.path.basename(str(path)).lower()
    return next((fmt for fmt, suffixes in SUFFIX_FORMATS.items() if name.endswith(suffixes)), None)


def detect_format(path):
    """The format of the file at ``path`` from its content (None: none of :data:`FORMATS`)."""
    with open_user_file(path, "weights", "checkpoint") as f:
        head = f.read(16)
        if head.startswith(b"PK\x03\x04"):
            try:
                with zipfile.ZipFile(f) as z:
                    names = z.namelist()
            except (zipfile.BadZipFile, OSError):
                return "torch"  # a damaged torch zip: let torch.load say what is wrong
            return "torch" if any(n.endswith("data.pkl") for n in names) else None
    if head.startswith(_HDF5):
        return "keras"
    if head[:1] == pickle.PROTO:
        if head[2:4] == b"\x8a\x0a" and int.from_bytes(head[4:14], "little") == _TORCH_MAGIC:
            return "torch"
        return "paddle"
    return None


@dataclass
class Checkpoint:
    """A state dict read from a file and how it was found."""

    state: OrderedDict
    path: str = None
    format: str = None
    wrappers: list = field(default_factory=list)  # the keys descended through (["state_dict"])
    prefixes: list = field(default_factory=list)  # key prefixes stripped
    ignored: list = field(default_factory=list)  # the other entries beside the weights
    alternatives: list = field(default_factory=list)  # other entries holding a state dict (pick one with key)

    def notes(self):
        """One line per thing the user should know about how the weights were found."""
        lines = []
        if self.wrappers or self.prefixes:
            where = "/".join(self.wrappers) or "top level"
            strip = f", prefix {' + '.join(repr(p) for p in self.prefixes)} stripped" if self.prefixes else ""
            lines.append(f"weights found under {where!r}{strip}")
        if self.ignored:
            lines.append(f"ignored {len(self.ignored)} entries beside the weights: {listed_names(self.ignored)}")
        if self.alternatives:
            lines.append(f"the file holds other state dicts too: {listed_names(self.alternatives)} "
                         f"(choose one with --key)")
        return lines


def _is_array(v):
    return isinstance(v, (torch.Tensor, np.ndarray, paddle.Tensor))


def _is_flat_state(obj):
    return bool(obj) and all(isinstance(k, str) for k in obj) and all(_is_array(v) for v in obj.values())


def _holds_state(obj):
    """Whether ``obj`` is a state dict or a wrapper around one."""
    return isinstance(obj, dict) and (_is_flat_state(obj) or any(_holds_state(obj.get(k)) for k in WRAPPER_KEYS))


def unwrap(obj, key=None):
    """The :class:`Checkpoint` inside a loaded ``obj``: under entry ``key`` (``/`` descends) or the first wrapper."""
    found = Checkpoint(OrderedDict())
    if key is not None:
        for part in str(key).split("/"):
            if not isinstance(obj, dict) or part not in obj:
                have = listed_names(obj) if isinstance(obj, dict) else type(obj).__name__
                raise WeightsError(f"the checkpoint has no entry {part!r} (--key {key}); it holds: {have}")
            found.ignored += [str(k) for k in obj if k != part]
            found.wrappers.append(part)
            obj = obj[part]
    while isinstance(obj, dict) and not _is_flat_state(obj):
        names = [k for k in WRAPPER_KEYS if _holds_state(obj.get(k))]
        if not names:
            raise WeightsError(
                "the checkpoint is not a state dict: it is a dict with keys "
                f"{listed_names(obj, 20)} and none of {', '.join(WRAPPER_KEYS)} holds the weights; "
                "name the entry that does with --key")
        found.alternatives += names[1:]
        found.ignored += [str(k) for k in obj if k not in names]
        found.wrappers.append(names[0])
        obj = obj[names[0]]
    if not isinstance(obj, dict):
        raise WeightsError(f"the checkpoint holds a {type(obj).__name__}, not a state dict of tensors")
    bad = next((k for k, v in obj.items() if not _is_array(v)), None) if obj else None
    if not obj or bad is not None:
        what = "is empty" if not obj else f"entry {bad!r} is a {type(obj[bad]).__name__}, not a tensor"
        raise WeightsError(f"the checkpoint's state dict {what}")
    state = OrderedDict(obj)
    while prefix := next((p for p in PREFIXES if all(k.startswith(p) for k in state)), None):
        state = OrderedDict((k[len(prefix):], v) for k, v in state.items())
        found.prefixes.append(prefix)
    found.state = state
    return found


def unwrap_state_dict(obj, key=None):
    """The flat ``{key: tensor}`` inside a checkpoint (see :func:`unwrap`)."""
    return unwrap(obj, key).state


def _load(path, fmt):
    if fmt == "torch":
        return safe_torch_load(path)
    if fmt == "paddle":
        return safe_paddle_load(path)
    raise WeightsError(f"{path!r} is a Keras file: of Keras weights only cct_keras_cifar's convert (name the file "
                       "*.h5 or pass --from keras; weights_bridge.keras_to_paddle); save others from Keras as a "
                       "PyTorch or Paddle state dict first")


def read_checkpoint(path, fmt=None, key=None):
    """:class:`Checkpoint` of the file ``path``: format by content unless ``fmt`` says it."""
    path = os.fspath(path)
    check_user_file(path, "weights", "checkpoint")
    if fmt is not None and fmt not in FORMATS:
        raise WeightsError(f"unknown checkpoint format {fmt!r}: use one of {', '.join(FORMATS)}")
    fmt = fmt or detect_format(path) or suffix_format(path)  # the name decides only where content cannot
    if fmt is None:
        raise WeightsError(f"cannot tell what {path!r} is: it is neither a torch checkpoint (zip or pickle), a "
                           "Paddle .pdparams pickle nor a Keras HDF5 file; if it is one, say which with --from")
    found = unwrap(_load(path, fmt), key)  # the safe loaders raise one clear WeightsError
    found.path, found.format = path, fmt
    return found


def to_numpy(value):
    """A numpy copy of a torch / Paddle tensor or array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, paddle.Tensor):
        return value.numpy()
    return np.asarray(value)


def numpy_weights(value, key):
    """``(array, cast_from)``: ``value`` as numpy, half precision (bfloat16 / float16) widened to
    float32 (``cast_from`` names the dtype it had, else None). Quantized tensors raise WeightsError."""
    if isinstance(value, torch.Tensor) and value.is_quantized:
        raise WeightsError(f"checkpoint key {key!r} is a quantized tensor ({value.dtype}): quantized weights "
                           "cannot be converted; use the float checkpoint they were made from")
    half = str(getattr(value, "dtype", "")).rpartition(".")[2]
    if half not in ("bfloat16", "float16"):
        return to_numpy(value), None
    return to_numpy(value.float() if isinstance(value, torch.Tensor) else value.astype("float32")), half
