"""PaddleClas 2.0's top-level layout (``ARCHITECTURE``, ``LEARNING_RATE``, ``OPTIMIZER``, ``TRAIN``, ``VALID``,
...) read as today's sections, so ``-o`` overrides then apply as to any config; keys without a counterpart
are dropped with a note."""

from ..notes import note_once

#: Top-level keys that mark the older layout.
LEGACY_MARKERS = ("ARCHITECTURE", "TRAIN", "LEARNING_RATE", "OPTIMIZER")

_DROPPED = {
    "mode": "tools/train.py trains and tools/eval.py evaluates; the key is not needed",
    "total_images": "steps per epoch come from the data set's length",
    "load_static_weights": "weights load through Global.pretrained_model (.pdparams)",
}


def is_legacy(cfg):
    """Whether ``cfg`` (a raw mapping) uses the older layout."""
    return isinstance(cfg, dict) and any(k in cfg for k in LEGACY_MARKERS)


def _split(old, train):
    old = dict(old or {})
    if "shuffle_seed" in old:
        note_once(f"{'TRAIN' if train else 'VALID'}.shuffle_seed", "shuffling draws from Global.seed")
        old.pop("shuffle_seed")
    split = {
        "dataset": {"name": "ImageNetDataset", "image_root": old.pop("data_dir", None),
                    "cls_label_path": old.pop("file_list", None), "transform_ops": old.pop("transforms", None)},
        "sampler": {"name": "DistributedBatchSampler", "batch_size": old.pop("batch_size", None),
                    "shuffle": train, "drop_last": False},
        "loader": {"num_workers": old.pop("num_workers", 0), "use_shared_memory": False},
    }
    split["dataset"].update(old)  # anything else stays visible to validation (and is refused there)
    return split


def translate_legacy(cfg):
    """The older layout ``cfg`` as today's sections (a new dict)."""
    old = dict(cfg)
    for key, text in _DROPPED.items():
        if key in old:
            note_once(key, text)
            old.pop(key)
    arch_old = dict(old.pop("ARCHITECTURE", None) or {})
    arch = {"name": arch_old.pop("name", None), **(arch_old.pop("params", None) or {})}
    if "classes_num" in old:
        arch["class_num"] = old.pop("classes_num")
    glob = {"output_dir": old.pop("model_save_dir", "./output/")}
    for old_key, new_key in (("pretrained_model", "pretrained_model"), ("epochs", "epochs"),
                             ("save_interval", "save_interval"), ("image_shape", "image_shape"),
                             ("validate", "eval_during_train"), ("valid_interval", "eval_interval")):
        if old_key in old:
            glob[new_key] = old.pop(old_key)
    lr_old = dict(old.pop("LEARNING_RATE", None) or {})
    lr_params = dict(lr_old.get("params") or {})
    lr = {"name": lr_old.get("function"), **lr_params}
    if "lr" in lr:
        lr["learning_rate"] = lr.pop("lr")
    opt_old = dict(old.pop("OPTIMIZER", None) or {})
    optimizer = {"name": opt_old.get("function"), **(opt_old.get("params") or {}), "lr": lr}
    if opt_old.get("regularizer"):
        reg = opt_old["regularizer"]
        optimizer["regularizer"] = {"name": reg.get("function"), "coeff": reg.get("factor")}
    celoss = {"weight": 1.0}
    if "ls_epsilon" in old:
        celoss["epsilon"] = old.pop("ls_epsilon")
    out = {
        "Global": glob,
        "Arch": arch,
        "Loss": {"Train": [{"CELoss": dict(celoss)}], "Eval": [{"CELoss": {"weight": 1.0}}]},
        "Optimizer": optimizer,
        "DataLoader": {"Train": _split(old.pop("TRAIN", None), True)},
        "Metric": {"Eval": [{"TopkAcc": {"topk": [1, old.pop("topk", 5)]}}]},
    }
    if "VALID" in old:
        out["DataLoader"]["Eval"] = _split(old.pop("VALID"), False)
    out.update(old)  # unknown top-level keys stay, so validation names them
    return out
