"""Checkpoints written atomically: ``<dir>/<tag>.pdparams``, ``.pdopt`` and ``.json``.

A checkpoint is a *prefix* (``output/oct_mobilenet/latest``) naming up to three files:
the model weights (``.pdparams``), the optimizer state (``.pdopt``, learning-rate scheduler
included) and a small JSON of metadata (epoch, metric, ...). Every file is written to a
temporary file in the same directory and renamed into place, so a crash or a full disk
leaves either the old checkpoint or the new one, never a half-written file. The JSON is
written last: a prefix whose JSON exists is complete.
"""

import json
import os
import tempfile

import paddle

from ..errors import WeightsError


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path`` (same directory, atomic).

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_paddle_save(obj, path):
    """``paddle.save(obj, path)`` atomically."""
    atomic_write(path, lambda tmp: paddle.save(obj, tmp))


def atomic_json_save(obj, path):
    """Write ``obj`` as JSON to ``path`` atomically."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True)

    atomic_write(path, write)


def save_checkpoint(prefix, model, optimizer=None, meta=None):
    """Save ``model`` (and ``optimizer``) weights and ``meta`` under ``prefix`` atomically.

    Args:
        prefix: path without extension, e.g. ``output/run/epoch_3``.
        model: a ``paddle.nn.Layer``.
        optimizer: a ``paddle.optimizer.Optimizer`` or None.
        meta: JSON-serialisable dict (epoch, metric, ...).
    """
    atomic_paddle_save(model.state_dict(), prefix + ".pdparams")
    if optimizer is not None:
        atomic_paddle_save(optimizer.state_dict(), prefix + ".pdopt")
    atomic_json_save(dict(meta or {}), prefix + ".json")


def load_checkpoint_meta(prefix):
    """The metadata dict of the checkpoint at ``prefix`` ({} if it has none)."""
    path = prefix + ".json"
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _strip_suffix(prefix):
    for ext in (".pdparams", ".pdopt", ".json"):
        if prefix.endswith(ext):
            return prefix[: -len(ext)]
    return prefix


def load_checkpoint(prefix, model, optimizer=None):
    """Load weights (and optimizer state) saved by :func:`save_checkpoint`; return its metadata.

    Raises WeightsError naming the file when it is missing or unreadable.
    """
    prefix = _strip_suffix(os.fspath(prefix))
    params = prefix + ".pdparams"
    if not os.path.exists(params):
        raise WeightsError(f"checkpoint {params!r} does not exist: check Global.checkpoints / the path given")
    try:
        state = paddle.load(params)
    except Exception as exc:  # a truncated or foreign file
        raise WeightsError(f"cannot read checkpoint {params!r} ({type(exc).__name__}: {exc}); "
                           "it is truncated or not a Paddle state dict") from exc
    model.set_state_dict(state)
    if optimizer is not None:
        opt_path = prefix + ".pdopt"
        if not os.path.exists(opt_path):
            raise WeightsError(f"optimizer state {opt_path!r} is missing: cannot resume; "
                               "use Global.pretrained_model to load weights only")
        optimizer.set_state_dict(paddle.load(opt_path))
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
    try:
        state = paddle.load(params)
    except Exception as exc:
        raise WeightsError(f"cannot read pretrained weights {params!r} ({type(exc).__name__}: {exc})") from exc
    own = model.state_dict()
    report = {"loaded": [], "missing": [], "unexpected": sorted(set(state) - set(own)), "mismatched": []}
    usable = {}
    for name, tensor in own.items():
        if name not in state:
            report["missing"].append(name)
            continue
        have, got = list(tensor.shape), list(state[name].shape)
        if have != got:
            report["mismatched"].append((name, have, got))
        else:
            usable[name] = state[name]
            report["loaded"].append(name)
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
