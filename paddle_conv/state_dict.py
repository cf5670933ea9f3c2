"""State dicts of models: read one from a file safely, compare it with a model, load what fits."""

import os

import numpy as np
import paddle

from .errors import WeightsError, abbreviate, listed_names
from .io import safe_paddle_load

#: The files of a checkpoint prefix: weights, optimizer state, metadata.
CHECKPOINT_PARTS = (".pdparams", ".pdopt", ".json")


def strip_suffix(prefix):
    """``prefix`` without a checkpoint file's extension (``.pdparams``, ``.pdopt``, ``.json``)."""
    for ext in CHECKPOINT_PARTS:
        if prefix.endswith(ext):
            return prefix[: -len(ext)]
    return prefix


def read_state_dict(path, what="checkpoint"):
    """The state dict ``{name: tensor or array}`` in ``path``; WeightsError naming the file if it is none."""
    if not os.path.exists(path):
        raise WeightsError(f"{what} {path!r} does not exist; check the path (a .pdparams file or its prefix)")
    state = safe_paddle_load(path, what)
    bad = (f"{type(state).__name__}" if not isinstance(state, dict) else
           next((f"entry {k!r} of type {type(v).__name__}" for k, v in state.items()
                 if not isinstance(k, str) or not isinstance(v, (paddle.Tensor, np.ndarray))), None))
    if bad:
        raise WeightsError(f"{what} {path!r} is not a state dict of tensors (found {bad}); save "
                           "model.state_dict() rather than the model or other objects")
    nonfinite = [k for k, v in state.items() if _is_float(v) and not np.isfinite(np.asarray(v)).all()]
    if nonfinite:
        raise WeightsError(f"{what} {path!r} holds NaN or infinite values in {abbreviate(nonfinite[0], 80)}"
                           f"{f' and {len(nonfinite) - 1} more tensors' if len(nonfinite) > 1 else ''}: the "
                           "training that wrote it diverged; use an earlier checkpoint (e.g. epoch_N)")
    return state


def as_model_dtypes(state, own, path):
    """``state`` with floating tensors cast to the dtype of the model's parameter in ``own`` (WeightsError for
    integer weights of a float parameter)."""
    out = {}
    for name, value in state.items():
        want = str(own[name].dtype).replace("paddle.", "") if name in own else None
        have = str(value.dtype).replace("paddle.", "")
        if want is None or want == have:
            out[name] = value
        elif _is_float(value) or not _is_float(own[name]):
            out[name] = paddle.cast(paddle.to_tensor(value) if isinstance(value, np.ndarray) else value, want)
        else:
            raise WeightsError(f"{path!r} holds {have} values for {abbreviate(name, 80)}, a {want} parameter: "
                               "quantized or not model weights; convert them back to float weights first")
    return out


def _is_float(value):
    return str(value.dtype).replace("paddle.", "") in ("float16", "bfloat16", "float32", "float64")


def compare_state(own, state):
    """``(missing, unexpected, [(name, model shape, file shape)])`` of a file's ``state`` against a model's ``own``."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [(k, list(own[k].shape), list(state[k].shape))
                  for k in own if k in state and list(own[k].shape) != list(state[k].shape)]
    return missing, unexpected, mismatched


#: What to do about a checkpoint of another model, as the classification tools read them.
MISMATCH_FIX = ("it was saved from another architecture or configuration: set Arch to the one it was trained "
                "with, or load matching weights only with Global.pretrained_model")


def check_state_matches(state, model, path, fix=MISMATCH_FIX):
    """Raise WeightsError, ending with ``fix``, unless ``state`` has exactly the parameters of ``model``."""
    missing, unexpected, mismatched = compare_state(model.state_dict(), state)
    mismatched = [f"{k}: model {have} vs file {got}" for k, have, got in mismatched]
    if missing or unexpected or mismatched:
        details = "; ".join(f"{label}: {listed_names(names, 5)}" for label, names in
                            (("missing in file", missing), ("unexpected in file", unexpected),
                             ("mis-shaped", mismatched)) if names)
        raise WeightsError(f"checkpoint {path!r} does not fit the model ({details}); {fix}")


def load_pretrained(model, path):
    """Load the weights of ``path`` (a prefix or a ``.pdparams`` file) whose name and shape match ``model``.

    Returns ``{"loaded", "missing", "unexpected", "mismatched"}`` (:func:`compare_state`'s lists).
    """
    params = strip_suffix(os.fspath(path)) + ".pdparams"
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
    model.set_state_dict(as_model_dtypes(usable, model.state_dict(), params))
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
