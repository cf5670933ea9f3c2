"""The real 8x8 handwritten digits bundled with scikit-learn, as small RGB images."""

import numpy as np
import paddle
from PIL import Image

from ..errors import ConfigError
from ..registry import register_dataset
from .common import as_label, check_label


@register_dataset
class Digits(paddle.io.Dataset):
    """scikit-learn's 1,797 digits (no download: the usual fallback) resized to ``image_size`` RGB, items
    ``(transform(PIL image), int64 label [1])``; the test split is ``eval_fraction`` by a ``split_seed``
    permutation, ``max_samples`` keeps the first images of the split."""

    def __init__(self, mode="train", image_size=32, eval_fraction=0.2, split_seed=0, max_samples=None,
                 transform=None, num_classes=None):
        from sklearn.datasets import load_digits

        if mode not in ("train", "test", "eval"):
            raise ConfigError(f"Digits mode must be 'train' or 'test', got {mode!r}")
        check_label(9, num_classes, "Digits (labels 0..9)")
        digits = load_digits()
        order = np.random.RandomState(split_seed).permutation(len(digits.target))
        n_eval = int(round(len(order) * eval_fraction))
        idx = (order[n_eval:] if mode == "train" else order[:n_eval])[:max_samples]
        pixels = (digits.images[idx] * (255.0 / 16.0)).round().astype("uint8")
        self.images = [Image.fromarray(p).resize((image_size, image_size), Image.BILINEAR).convert("RGB")
                       for p in pixels]
        self.labels = digits.target[idx].astype("int64")
        self.transform = transform

    def __getitem__(self, idx):
        img = self.images[idx] if self.transform is None else self.transform(self.images[idx])
        return img, as_label(self.labels[idx])

    def __len__(self):
        return len(self.labels)
