"""CIFAR-10 through ``paddle.vision.datasets.Cifar10``: a local archive or Paddle's download."""

import contextlib
import io
import os

import paddle

from ..console import verbose
from ..io import check_user_file
from ..registry import register_dataset
from .common import DataNotFoundError, as_label, check_label

#: Where ``paddle.vision.datasets.Cifar10`` keeps its download.
DEFAULT_CIFAR10 = os.path.expanduser("~/.cache/paddle/dataset/cifar/cifar-10-python.tar.gz")


@register_dataset
class Cifar10(paddle.io.Dataset):
    """CIFAR-10 (Krizhevsky, 2009), items ``(transform(PIL image), int64 label [1])``; ``data_file`` None: Paddle's
    cache, downloaded if ``download``; DataNotFoundError when it is not on disk and cannot be downloaded."""

    def __init__(self, data_file=None, mode="train", download=True, transform=None, num_classes=None):
        check_label(9, num_classes, "Cifar10 (labels 0..9)")
        if data_file is not None and not os.path.exists(data_file):
            raise DataNotFoundError(f"CIFAR-10 archive {data_file!r} does not exist (data_file)")
        if data_file is not None or os.path.exists(DEFAULT_CIFAR10):
            check_user_file(data_file or DEFAULT_CIFAR10, "archive", "CIFAR-10 archive")
        if data_file is None and not download and not os.path.exists(DEFAULT_CIFAR10):
            raise DataNotFoundError(f"CIFAR-10 archive not found at {DEFAULT_CIFAR10!r} and download is false")
        chatter = contextlib.nullcontext() if verbose() else contextlib.redirect_stderr(io.StringIO())
        try:
            with chatter:  # Paddle's downloader prints each of its attempts; the fallback line says it all
                self.data = paddle.vision.datasets.Cifar10(data_file=data_file, mode=mode, transform=transform,
                                                           download=download, backend="pil")
        except (RuntimeError, OSError) as exc:
            raise DataNotFoundError(f"CIFAR-10 is not on disk ({data_file or DEFAULT_CIFAR10}) and the download "
                                    f"failed ({type(exc).__name__}: {exc})") from exc

    def __getitem__(self, idx):
        img, label = self.data[idx]
        return img, as_label(int(label))

    def __len__(self):
        return len(self.data)
