"""Shared pieces of the detection data sets: samples ``(image [3, S, S] float32, target [n, 5] float32)``, rows
``(x1, y1, x2, y2, label)`` relative to the image, labels 0-based without background."""

import numpy as np

from .guarded_loader import GuardedDataLoader

#: ImageNet mean / std (RGB, 0..1), the normalisation of the registered backbones.
MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
STD = np.array([0.229, 0.224, 0.225], dtype="float32")


def detection_sample(image, target, size, flip):
    """A PIL image resized to a normalised ``[3, size, size]`` float32 array, and its ``target``, both mirrored
    left-right with probability 0.5 when ``flip``."""
    if image.size != (size, size):
        image = image.resize((size, size))
    arr = ((np.asarray(image.convert("RGB"), dtype="float32") / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    if flip and np.random.random() < 0.5:
        arr, target = arr[:, :, ::-1], target.copy()
        target[:, [0, 2]] = 1.0 - target[:, [2, 0]]
    return arr.copy(), target


def collate_detection(batch):
    """``[(image, target), ...]`` -> ``(images [B, 3, S, S], targets [B, M, 5])`` padded with label -1 (MultiBoxLoss's
    form), M >= 1."""
    images = np.stack([b[0] for b in batch])
    width = max(1, max(len(b[1]) for b in batch))
    targets = np.full((len(batch), width, 5), -1.0, dtype="float32")
    for i, (_, t) in enumerate(batch):
        targets[i, : len(t)] = t
    return images, targets


def detection_loader(dataset, batch_size, shuffle):
    """Batches ``(images [B, 3, S, S], targets [B, M, 5])`` of a detection data set (the last
    partial batch dropped when shuffling, for training)."""
    return GuardedDataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=shuffle,
                             collate_fn=collate_detection)
