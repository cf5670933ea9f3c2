"""``DataLoader.validation_split``: a fraction of the training set held out by a ``Global.seed`` permutation and
read with the evaluation transforms (``DataLoader.Eval``'s, or its fallback's), as Keras's ``validation_split``."""

import numpy as np
import paddle

from ..errors import ConfigError, DataError
from . import build_dataset


def holdout_indices(num_samples, fraction, seed):
    """Sorted ``(train, validation)`` index arrays, ``round(num_samples * fraction)`` (at least 1) held out."""
    held = max(1, int(round(num_samples * fraction)))
    if held >= num_samples:
        raise DataError(f"DataLoader.validation_split={fraction} holds out {held} of {num_samples} training "
                        "samples, leaving none to train on; lower it")
    order = np.random.default_rng(seed).permutation(num_samples)
    return np.sort(order[held:]), np.sort(order[:held])


def _eval_transform_ops(train_dataset, used, eval_split):
    if eval_split is None:
        return used.get("transform_ops")
    eval_dataset = eval_split["dataset"]
    if used is train_dataset:
        return eval_dataset.get("transform_ops")
    return (eval_dataset.get("fallback") or used).get("transform_ops")


def split_for_validation(train_split, eval_split, fraction, seed, num_classes=None):
    """``(train_subset, validation_subset, used_entry)`` of ``DataLoader.Train``'s data set, split."""
    if train_split["sampler"]["name"] == "MultiScaleSampler":
        raise ConfigError("DataLoader.validation_split: not implemented with MultiScaleSampler (its samples are "
                          "indexed by image size); give a DataLoader.Eval split instead")
    train_set, used = build_dataset(train_split["dataset"], num_classes, key="DataLoader.Train.dataset")
    ops = _eval_transform_ops(train_split["dataset"], used, eval_split)
    val_entry = {**used, "transform_ops": ops, "fallback": None}
    val_set, _ = build_dataset(val_entry, num_classes, key="DataLoader.Train.dataset")
    train_idx, val_idx = holdout_indices(len(train_set), fraction, seed)
    return paddle.io.Subset(train_set, train_idx.tolist()), paddle.io.Subset(val_set, val_idx.tolist()), used
