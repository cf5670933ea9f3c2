"""``Global``, ``AMP`` and ``EMA`` of a classification config: the run, mixed precision, weight averaging."""

from ..device import DEVICE_PATTERN
from ..errors import config_error
from ..notes import note_once
from .schema import BOOL, FLOAT, INT, INT_LIST, STR, Key, join_key, validate_section

#: ``Global``: the run (epochs, device, output and logging, weights to start from).
GLOBAL = {
    "output_dir": Key(STR, default="./output/", doc="checkpoints and VisualDL logs go under it"),
    "epochs": Key(INT, required=True, doc="number of training epochs"),
    "seed": Key(INT, default=42),
    "device": Key(STR, default="auto", doc="auto (the GPU when Paddle sees one, else cpu), cpu, gpu, gpu:N"),
    "save_interval": Key(INT, default=1, doc="write epoch_N every this many epochs"),
    "eval_during_train": Key(BOOL, default=True),
    "eval_interval": Key(INT, default=1),
    "use_multilabel": Key(BOOL, default=False, doc="a multi-label model (sigmoid per class)"),
    "start_eval_epoch": Key(INT, default=0, doc="no evaluation (nor best_model) before this epoch (1-based)"),
    "print_batch_step": Key(INT, default=10),
    "use_visualdl": Key(BOOL, default=True),
    "pretrained_model": Key(STR, nullable=True, doc="weights to start from (no optimizer state)"),
    "checkpoints": Key(STR, nullable=True, doc="checkpoint prefix to resume from"),
    "image_shape": Key(INT_LIST, default=[3, 224, 224]),
    "save_inference_dir": Key(STR, default="./inference/", doc="tools/export.py writes the inference model here"),
    "use_amp": Key(BOOL, default=False, doc="mixed precision (float16 autocast) on GPU; ignored on CPU"),
    "to_static": Key(BOOL, default=False, doc="train through paddle.jit.to_static (a static graph)"),
    "eval_mode": Key(STR, default="classification", doc="only classification is implemented"),
    "update_freq": Key(INT, default=1, doc="gradient accumulation: optimizer step every this many batches"),
    "use_dali": Key(BOOL, default=False, doc="NVIDIA DALI data loading (not used here: a note says so)"),
    "image_channel": Key(INT, nullable=True, doc="input channels; must match image_shape[0]"),
    "train_mode": Key(STR, nullable=True, doc="PaddleClas's training loops: progressive (the others are refused)"),
}

#: ``Global.train_mode`` values implemented (PaddleClas 2.6's ``ppcls/engine/train/train_<mode>.py``).
TRAIN_MODES = ("progressive",)


def validate_global(source, path, value):
    """``Global`` against :data:`GLOBAL`, then the checks across its values (counts >= 1, ``[C, H, W]``)."""
    g = validate_section(source, path, value, GLOBAL)
    for key in ("epochs", "save_interval", "eval_interval", "print_batch_step", "update_freq"):
        if g[key] < 1:
            raise config_error(source, join_key(path, key), "bad value", f"must be >= 1, got {g[key]}")
    if len(g["image_shape"]) != 3:
        raise config_error(source, join_key(path, "image_shape"), "bad value",
                           f"expected [C, H, W], got {g['image_shape']!r}")
    if not DEVICE_PATTERN.fullmatch(g["device"]):
        raise config_error(source, join_key(path, "device"), "bad value",
                           f"expected 'auto', 'cpu', 'gpu' or 'gpu:N', got {g['device']!r}")
    if g["start_eval_epoch"] < 0:
        raise config_error(source, join_key(path, "start_eval_epoch"), "bad value",
                           f"must be >= 0 (0: evaluate from the first epoch), got {g['start_eval_epoch']}")
    if g["eval_mode"] != "classification":
        raise config_error(source, join_key(path, "eval_mode"), "bad value",
                           f"only 'classification' is implemented, got {g['eval_mode']!r} (retrieval and face "
                           "evaluation are not); use a classification config")
    if g["train_mode"] not in (None, *TRAIN_MODES):
        raise config_error(source, join_key(path, "train_mode"), "bad value",
                           f"{g['train_mode']!r}: PaddleClas's train_epoch_{g['train_mode']} loop is not implemented "
                           f"(only {', '.join(TRAIN_MODES)}); remove the key to train with the plain loop")
    if g["image_channel"] is not None and g["image_channel"] != g["image_shape"][0]:
        raise config_error(source, join_key(path, "image_channel"), "bad value",
                           f"{g['image_channel']} differs from image_shape[0] = {g['image_shape'][0]}; make them equal")
    if g["use_dali"]:
        note_once(join_key(path, "use_dali"), "NVIDIA DALI is not used; the Paddle DataLoader reads the images "
                  "with the same transform_ops")
    return g


#: ``AMP``: mixed precision (PaddleClas's section; ``Global.use_amp`` is the older switch).
AMP = {
    "use_amp": Key(BOOL, default=True, doc="the section's presence turns AMP on unless this is false"),
    "scale_loss": Key(FLOAT, default=65536.0, doc="initial loss scale"),
    "use_dynamic_loss_scaling": Key(BOOL, default=True),
    "level": Key(STR, default="O1", doc="O1 (autocast lists) or O2 (float16 weights)"),
    "use_fp16_test": Key(BOOL, default=False, doc="evaluate under autocast too"),
    "use_promote": Key(BOOL, default=False, doc="O2: promote ops with float32 inputs to float32"),
    "use_pure_fp16": Key(BOOL, default=False, doc="PaddleClas 2.3's O2 switch; 2.6 reads level only (a note)"),
}


def validate_amp(source, path, value):
    """``AMP`` against :data:`AMP` (``level`` O1 or O2)."""
    amp = validate_section(source, path, value, AMP)
    if amp["level"] not in ("O1", "O2"):
        raise config_error(source, join_key(path, "level"), "bad value", f"expected O1 or O2, got {amp['level']!r}")
    if amp.pop("use_pure_fp16"):
        note_once(join_key(path, "use_pure_fp16"), f"PaddleClas 2.3's switch; as PaddleClas 2.6, AMP.level decides "
                  f"({amp['level']}); set level: O2 for float16 weights")
    return amp


def move_global_class_num(source, cfg):
    """PaddleClas 2.6's older ``Global.class_num`` (raw ``cfg``): ``Arch.class_num`` unless that is set (a note)."""
    g, arch = cfg.get("Global"), cfg.get("Arch")
    if not isinstance(g, dict) or "class_num" not in g:
        return
    class_num = g["class_num"]
    if isinstance(class_num, bool) or not isinstance(class_num, int) or class_num < 1:
        raise config_error(source, "Global.class_num", "bad value",
                           f"expected a class count (an integer >= 1), got {class_num!r}; or remove the key")
    del g["class_num"]
    if isinstance(arch, dict) and "class_num" not in arch:
        arch["class_num"] = class_num
        note_once("Global.class_num", f"PaddleClas's older place for Arch.class_num: Arch.class_num set to {class_num}")
    else:
        note_once("Global.class_num", "PaddleClas's older place for Arch.class_num, which this config sets: ignored")


#: ``EMA``: exponential moving average of the weights; evaluation and best_model use it.
EMA = {"decay": Key(FLOAT, default=0.9999, doc="shadow = decay * shadow + (1 - decay) * weights, every step")}


def validate_ema(source, path, value):
    ema = validate_section(source, path, {} if value is None else value, EMA)
    if not 0 < ema["decay"] < 1:
        raise config_error(source, join_key(path, "decay"), "bad value", f"must be in (0, 1), got {ema['decay']}")
    return ema
