"""Checkpoints written atomically: ``<dir>/<tag>.pdparams``, ``.pdopt`` and ``.json``.

A checkpoint is a *prefix* (``output/oct_mobilenet/latest``) naming up to three files:
the model weights (``.pdparams``), the optimizer state (``.pdopt``, learning-rate scheduler
included) and a small JSON of metadata (epoch, metric, ...).

Every file is written to a temporary file in the same directory and renamed into place, so a
crash or a full disk never leaves a half-written file. The three files of a checkpoint are
committed together: :func:`save_checkpoint` writes all of them to temporary files first, then
an intent file ``<prefix>.commit`` naming the renames, then renames. A process killed before
the intent file exists leaves the previous checkpoint untouched; one killed after it is rolled
forward by the next :func:`save_checkpoint` or :func:`load_checkpoint` of that prefix. So a
prefix is always one whole checkpoint, old or new, never new weights with an old optimizer
state or epoch.
"""

import errno
import glob
import json
import os
import pickle
import tempfile

import numpy as np
import paddle

from ..errors import WeightsError

_PARTS = (".pdparams", ".pdopt", ".json")
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _temp_path(path):
    """A new empty temporary file beside ``path`` (``.<name>.<random>.tmp``)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    return tmp


def _write_synced(path, write):
    """Call ``write(tmp)`` for a temporary file beside ``path``, fsync it, return its path.

    On failure the temporary file is removed; a full disk raises OSError naming ``path``.
    """
    tmp = _temp_path(path)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    except BaseException as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            raise OSError(exc.errno, f"no space left on the device while writing {path!r}: nothing was "
                                     "replaced (the previous file, if any, is intact); free disk space or "
                                     "point Global.output_dir to another disk, then run again") from exc
        raise
    return tmp


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path`` (same directory, atomic).

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    os.replace(_write_synced(path, write), path)


def atomic_paddle_save(obj, path):
    """``paddle.save(obj, path)`` atomically."""
    atomic_write(path, lambda tmp: paddle.save(obj, tmp))


def _json_writer(obj):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True)

    return write


def atomic_json_save(obj, path):
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write(path, _json_writer(obj))


def _roll_forward(prefix):
    """Finish the renames of an interrupted :func:`save_checkpoint` of ``prefix``; drop its leftovers."""
    intent = prefix + ".commit"
    if os.path.exists(intent):
        with open(intent, encoding="utf-8") as f:
            renames = json.load(f)
        directory = os.path.dirname(os.path.abspath(prefix))
        for tmp, final in renames:
            tmp = os.path.join(directory, tmp)
            if os.path.exists(tmp):
                os.replace(tmp, os.path.join(directory, final))
        os.remove(intent)
    base = os.path.basename(prefix)
    for leftover in glob.glob(os.path.join(glob.escape(os.path.dirname(os.path.abspath(prefix))),
                                           f".{glob.escape(base)}.*.tmp")):
        os.remove(leftover)  # a temporary file of a save killed before its intent file existed


def save_checkpoint(prefix, model, optimizer=None, meta=None):
    """Save ``model`` (and ``optimizer``) weights and ``meta`` under ``prefix``, all-or-nothing.

    Args:
        prefix: path without extension, e.g. ``output/run/epoch_3``.
        model: a ``paddle.nn.Layer``.
        optimizer: a ``paddle.optimizer.Optimizer`` or None.
        meta: JSON-serialisable dict (epoch, metric, ...).
    """
    prefix = os.fspath(prefix)
    _roll_forward(prefix)
    writers = [(".pdparams", lambda tmp: paddle.save(model.state_dict(), tmp))]
    if optimizer is not None:
        writers.append((".pdopt", lambda tmp: paddle.save(optimizer.state_dict(), tmp)))
    writers.append((".json", _json_writer(dict(meta or {}))))
    temps = []
    try:
        for ext, write in writers:
            temps.append((_write_synced(prefix + ext, write), prefix + ext))
        renames = [(os.path.basename(tmp), os.path.basename(final)) for tmp, final in temps]
        atomic_write(prefix + ".commit", _json_writer(renames))
    except BaseException:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.remove(tmp)
        raise
    _roll_forward(prefix)


def load_checkpoint_meta(prefix):
    """The metadata dict of the checkpoint at ``prefix`` ({} if it has none)."""
    path = prefix + ".json"
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _strip_suffix(prefix):
    for ext in _PARTS:
        if prefix.endswith(ext):
            return prefix[: -len(ext)]
    return prefix


#: The only globals the pickle of a Paddle state dict or optimizer state refers to: NumPy arrays
#: and dtypes, tensors saved as ``(name, array)`` tuples, pickle protocol 2's bytes and builtins.
_STATE_GLOBALS = {("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct"),
                  ("numpy._core.multiarray", "scalar"), ("numpy.core.multiarray", "scalar"),
                  ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
                  ("builtins", "tuple"), ("__builtin__", "tuple"), ("_codecs", "encode")}


class UnsafePickleError(pickle.UnpicklingError):
    """A ``.pdparams``/``.pdopt`` pickle refers to a global that plain weights never need."""


class _StateUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _STATE_GLOBALS:
            raise UnsafePickleError(f"it refers to {module}.{name}, which plain weights never do")
        return super().find_class(module, name)


def safe_paddle_load(path):
    """``paddle.load(path)`` after checking that the pickle holds plain data only.

    ``paddle.load`` is ``pickle.load``: a crafted file runs any code it names. The file is
    first unpickled with only :data:`_STATE_GLOBALS` allowed (arrays, dicts, numbers,
    strings); anything else raises :class:`UnsafePickleError` before any of it runs. Files
    that are not pickles (Paddle's binary format) go to ``paddle.load`` unchanged.
    """
    with open(path, "rb") as f:
        if f.read(1) == pickle.PROTO:
            f.seek(0)
            _StateUnpickler(f, encoding="latin1").load()
    return paddle.load(path)


def read_state_dict(path, what="checkpoint"):
    """``paddle.load(path)`` checked to be a state dict: ``{name: tensor or array}``.

    Raises WeightsError naming the file when it is missing, unreadable (truncated, not a Paddle
    file) or holds something else than a state dict (a whole pickled model, a list, ...).
    """
    if not os.path.exists(path):
        raise WeightsError(f"{what} {path!r} does not exist; check the path (a .pdparams file or its prefix)")
    try:
        state = safe_paddle_load(path)
    except UnsafePickleError as exc:
        raise WeightsError(f"refusing to load {what} {path!r}: {exc}, and unpickling it could run code. "
                           "Use weights from a source you trust; if you trust this file, load it with "
                           "paddle.load yourself and save model.state_dict() again") from None
    except Exception as exc:  # a truncated or foreign file
        raise WeightsError(f"cannot read {what} {path!r} ({type(exc).__name__}: {exc}); the file is truncated "
                           "or not a Paddle state dict: write it again with paddle.save(model.state_dict(), "
                           "path), or convert a PyTorch .pth with tools/convert_weights.py") from exc
    bad = (f"{type(state).__name__}" if not isinstance(state, dict) else
           next((f"entry {k!r} of type {type(v).__name__}" for k, v in state.items()
                 if not isinstance(k, str) or not isinstance(v, (paddle.Tensor, np.ndarray))), None))
    if bad:
        raise WeightsError(f"{what} {path!r} is not a state dict of tensors (found {bad}); save "
                           "model.state_dict() rather than the model or other objects")
    return state


def compare_state(own, state):
    """How a file's ``state`` differs from a model's ``own`` state dict: ``(missing, unexpected,
    mismatched)``, names in model order (``unexpected`` in file order), ``mismatched`` as
    ``(name, model shape, file shape)``."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [(k, list(own[k].shape), list(state[k].shape))
                  for k in own if k in state and list(own[k].shape) != list(state[k].shape)]
    return missing, unexpected, mismatched


def check_state_matches(state, model, path):
    """Raise WeightsError unless ``state`` has exactly the parameters (names and shapes) of ``model``."""
    missing, unexpected, mismatched = compare_state(model.state_dict(), state)
    mismatched = [f"{k}: model {have} vs file {got}" for k, have, got in mismatched]
    if missing or unexpected or mismatched:
        def few(names):
            return ", ".join(names[:5]) + (f" (+{len(names) - 5} more)" if len(names) > 5 else "")

        details = "; ".join(f"{label}: {few(names)}" for label, names in
                            (("missing in file", missing), ("unexpected in file", unexpected),
                             ("mis-shaped", mismatched)) if names)
        raise WeightsError(f"checkpoint {path!r} does not fit the model ({details}); it was saved from another "
                           "architecture or configuration: set Arch to the one it was trained with, or load "
                           "matching weights only with Global.pretrained_model")


def load_checkpoint(prefix, model, optimizer=None):
    """Load weights (and optimizer state) saved by :func:`save_checkpoint`; return its metadata.

    The weights must fit ``model`` exactly (names and shapes). Raises WeightsError naming the
    file when it is missing, unreadable, not a state dict, or saved from another model.
    """
    prefix = _strip_suffix(os.fspath(prefix))
    params = prefix + ".pdparams"
    if os.path.exists(prefix + ".commit"):
        _roll_forward(prefix)
    if not os.path.exists(params):
        raise WeightsError(f"checkpoint {params!r} does not exist: check Global.checkpoints / the path given")
    state = read_state_dict(params)
    check_state_matches(state, model, params)
    if optimizer is not None:
        opt_path = prefix + ".pdopt"
        if not os.path.exists(opt_path):
            raise WeightsError(f"optimizer state {opt_path!r} is missing: cannot resume; "
                               "use Global.pretrained_model to load weights only")
        try:
            opt_state = safe_paddle_load(opt_path)
        except UnsafePickleError as exc:
            raise WeightsError(f"refusing to load optimizer state {opt_path!r}: {exc}, and unpickling it could "
                               "run code; resume from a checkpoint you trust") from None
        except Exception as exc:
            raise WeightsError(f"cannot read optimizer state {opt_path!r} ({type(exc).__name__}: {exc}); "
                               "the file is truncated: resume from another checkpoint (e.g. epoch_N) or use "
                               "Global.pretrained_model to load weights only") from exc
        optimizer.set_state_dict(opt_state)
    model.set_state_dict(state)
    return load_checkpoint_meta(prefix)


def load_pretrained(model, path):
    """Load weights only from ``path`` (a prefix or a ``.pdparams`` file) into ``model``.

    Parameters whose name and shape match are loaded; the rest are reported, not fatal.
    Returns ``{"loaded": [...], "missing": [...], "unexpected": [...], "mismatched":
    [(name, model_shape, file_shape), ...]}``: ``missing`` are model parameters the file lacks
    (they keep their initial values), ``unexpected`` are file entries the model lacks.

    Raises WeightsError naming the file when it is missing, unreadable, or shares no
    parameter with the model.
    """
    params = _strip_suffix(os.fspath(path)) + ".pdparams"
    if not os.path.exists(params):
        raise WeightsError(f"pretrained weights {params!r} do not exist: check Global.pretrained_model")
    state = read_state_dict(params, "pretrained weights")
    missing, unexpected, mismatched = compare_state(model.state_dict(), state)
    skipped = set(missing) | {name for name, _, _ in mismatched}
    usable = {name: state[name] for name in model.state_dict() if name not in skipped}
    report = {"loaded": list(usable), "missing": missing, "unexpected": sorted(unexpected),
              "mismatched": mismatched}
    if not usable:
        raise WeightsError(f"pretrained weights {params!r} share no parameter (name and shape) with the model "
                           f"({len(report['unexpected'])} unexpected, {len(report['mismatched'])} mis-shaped); "
                           "is it a checkpoint of another architecture?")
    model.set_state_dict(usable)
    return report


def format_load_report(report):
    """Human-readable lines of a :func:`load_pretrained` report (names every skipped key)."""
    lines = [f"loaded {len(report['loaded'])} tensors"]
    if report["missing"]:
        lines.append(f"missing in file (kept initial values): {', '.join(report['missing'])}")
    if report["unexpected"]:
        lines.append(f"unexpected in file (ignored): {', '.join(report['unexpected'])}")
    for name, have, got in report["mismatched"]:
        lines.append(f"mis-shaped (ignored): {name}: model {have} vs file {got}")
    return lines
