"""Checkpoints: a prefix (``output/run/latest``) naming ``.pdparams``, ``.pdopt`` and ``.json``, committed
together: all are written to temporary files, then an intent file ``<prefix>.commit`` naming the renames,
then renamed; a save killed after the intent file is rolled forward by the next save or load, so a prefix
is always one whole checkpoint, old or new."""

import glob
import math
import os

import paddle

from ..errors import PLAIN_KEY, WeightsError, abbreviate
from ..io import atomic_write, is_leftover, json_writer, read_json, safe_paddle_load, write_synced
from ..state_dict import CHECKPOINT_PARTS as _PARTS
from ..state_dict import MISMATCH_FIX, as_model_dtypes, check_state_matches, read_state_dict, strip_suffix


def _read_intent(prefix):
    """The ``(temporary, final)`` file names of ``<prefix>.commit``, each checked to be a part of
    ``prefix`` in its own folder; WeightsError (nothing moved) for anything else."""
    intent = prefix + ".commit"
    advice = (f"delete {intent!r} to keep the checkpoint as it was before the interrupted save, "
              "or resume from another checkpoint")
    renames = read_json(intent, lambda exc: f"commit file {intent!r} is unreadable ({type(exc).__name__}); {advice}",
                        "commit file")
    base = os.path.basename(prefix)
    finals = {base + ext for ext in _PARTS}
    ok = isinstance(renames, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in renames)
    for pair in renames if ok else ():
        tmp, final = pair
        if final not in finals or not isinstance(tmp, str) or os.sep in tmp or os.altsep and os.altsep in tmp \
                or not (tmp.startswith(f".{final}.") and tmp.endswith(".tmp")):
            raise WeightsError(f"refusing commit file {intent!r}: it names {abbreviate(pair, 100)}, not a "
                               f"temporary file of {base!r} renamed to one of {sorted(finals)} in its folder "
                               f"(nothing was moved); {advice}")
    if not ok:
        raise WeightsError(f"commit file {intent!r} is not a list of [temporary, final] names "
                           f"({abbreviate(renames, 100)}); {advice}")
    return renames


def _roll_forward(prefix):
    """Finish the renames of an interrupted :func:`save_checkpoint` of ``prefix`` (checked whole first:
    any name but ``prefix``'s own parts moves nothing) and drop its leftovers."""
    directory = os.path.dirname(os.path.abspath(prefix))
    if os.path.lexists(prefix + ".commit"):
        renames = _read_intent(prefix)
        for tmp, _ in renames:
            if os.path.islink(os.path.join(directory, tmp)):
                raise WeightsError(f"refusing commit file {prefix + '.commit'!r}: {tmp!r} is a symbolic link "
                                   "(nothing was moved); delete the .commit file and resume from a checkpoint "
                                   "you trust")
        for tmp, final in renames:
            if os.path.exists(os.path.join(directory, tmp)):
                os.replace(os.path.join(directory, tmp), os.path.join(directory, final))
        os.remove(prefix + ".commit")
    base = os.path.basename(prefix)
    for leftover in glob.glob(os.path.join(glob.escape(directory), f".{glob.escape(base)}.*.tmp")):
        if is_leftover(leftover) and not os.path.islink(leftover):
            os.remove(leftover)  # a temporary file of a save killed before its intent file existed


def save_checkpoint(prefix, model, optimizer=None, meta=None):
    """Save ``model`` (and ``optimizer``) state and the JSON dict ``meta`` under ``prefix``, all-or-nothing."""
    prefix = os.fspath(prefix)
    _roll_forward(prefix)
    writers = [(".pdparams", lambda tmp: paddle.save(model.state_dict(), tmp))]
    if optimizer is not None:
        writers.append((".pdopt", lambda tmp: paddle.save(optimizer.state_dict(), tmp)))
    meta = dict(meta or {})
    if optimizer is not None:
        meta["optimizer"] = type(optimizer).__name__  # resuming with another optimizer is refused
    writers.append((".json", json_writer(meta)))
    temps = []
    try:
        for ext, write in writers:
            temps.append((write_synced(prefix + ext, write), prefix + ext))
        renames = [(os.path.basename(tmp), os.path.basename(final)) for tmp, final in temps]
        atomic_write(prefix + ".commit", json_writer(renames))
    except BaseException:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.remove(tmp)
        raise
    _roll_forward(prefix)


def load_checkpoint_meta(prefix):
    """The metadata dict of the checkpoint at ``prefix`` ({} if it has none)."""
    path = prefix + ".json"
    if not os.path.lexists(path):
        return {}
    meta = read_json(path, lambda exc: f"checkpoint metadata {path!r} is unreadable ({type(exc).__name__}); the "
                                       "run folder is damaged: resume from another checkpoint (e.g. epoch_N)",
                     "checkpoint metadata")
    if not isinstance(meta, dict) or not all(check(meta.get(key)) for key, check in _META_CHECKS.items()):
        raise WeightsError(f"checkpoint metadata {path!r} is not what save_checkpoint writes (epoch counts "
                           "from 0, a finite best_metric, an optimizer name); resume from another checkpoint "
                           "(e.g. epoch_N)")
    return meta


#: What each key of a checkpoint's metadata may hold (None: absent); any other value refuses the file.
_META_CHECKS = {
    "epoch": lambda v: v is None or (type(v) is int and v >= 0),
    "best_epoch": lambda v: v is None or (type(v) is int and v >= 0),
    "best_metric": lambda v: v is None or (type(v) in (int, float) and math.isfinite(v)),
    "optimizer": lambda v: v is None or (isinstance(v, str) and PLAIN_KEY.fullmatch(v) is not None),
}


def load_checkpoint(prefix, model, optimizer=None, fix=MISMATCH_FIX):
    """Load a :func:`save_checkpoint` into ``model`` (and ``optimizer``) and return its metadata;
    WeightsError naming the file (with the advice ``fix`` for another model's weights) otherwise."""
    prefix = strip_suffix(os.fspath(prefix))
    params = prefix + ".pdparams"
    if os.path.exists(prefix + ".commit"):
        _roll_forward(prefix)
    if not os.path.exists(params):
        raise WeightsError(f"checkpoint {params!r} does not exist: check Global.checkpoints / the path given")
    if optimizer is not None and not os.path.lexists(prefix + ".json"):
        raise WeightsError(f"checkpoint metadata {prefix + '.json'!r} is missing: it records the epochs done, without "
                           f"it {prefix!r} cannot be resumed; resume from another checkpoint (e.g. epoch_N), or start "
                           "from its weights with Global.pretrained_model")
    meta = load_checkpoint_meta(prefix)
    state = read_state_dict(params)
    check_state_matches(state, model, params, fix)
    if optimizer is not None:
        opt_path = prefix + ".pdopt"
        if not os.path.exists(opt_path):
            raise WeightsError(f"optimizer state {opt_path!r} is missing: cannot resume; "
                               "use Global.pretrained_model to load weights only")
        saved_with = meta.get("optimizer")
        if saved_with is not None and saved_with != type(optimizer).__name__:
            raise WeightsError(f"checkpoint {prefix!r} was trained with the {saved_with} optimizer, "
                               f"the config uses {type(optimizer).__name__}: set Optimizer.name to "
                               f"{saved_with} to resume, or start from its weights with "
                               "Global.pretrained_model")
        optimizer.set_state_dict(safe_paddle_load(opt_path, "optimizer state", fix=(
            "resume from another checkpoint (e.g. epoch_N) or use Global.pretrained_model to load weights only")))
    model.set_state_dict(as_model_dtypes(state, model.state_dict(), params))
    return meta


