"""The ``paddle.io.DataLoader`` every data set is read through, so that a data error reaches the caller.

In Paddle 3.3 an exception in ``__getitem__`` hangs the main thread (``num_workers=0``) or comes back as a
``SystemError`` (workers); here a failing sample becomes a "failed batch" carrying its message, raised again
as :class:`~paddle_conv.errors.DataError` in the main thread.
"""

import numpy as np
import paddle
from paddle.io.dataloader.collate import default_collate_fn

from ..errors import DataError, PaddleConvError

#: First bytes of a failed batch: ``[uint8 array of _MAGIC + UTF-8 message]``.
_MAGIC = b"\x00paddle_conv data error\x00"


class _Failed(str):
    """The message :class:`_Guarded` returns instead of a sample whose reading raised."""


class _Guarded(paddle.io.Dataset):
    """``dataset`` whose ``__getitem__`` returns :class:`_Failed` instead of raising."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, index):
        try:
            return self.dataset[index]
        except PaddleConvError as exc:
            return _Failed(exc)
        except Exception as exc:
            return _Failed(f"cannot load sample {index} of {type(self.dataset).__name__} ({type(exc).__name__}: "
                           f"{(str(exc).splitlines() or [''])[0][:300]}); check that file or remove it from the "
                           "data set")

    def __len__(self):
        return len(self.dataset)


def _failed_batch(message):
    return [np.frombuffer(_MAGIC + message.encode("utf-8", "replace"), dtype=np.uint8)]


def _guard_collate(collate):
    def collate_or_fail(samples):
        failed = next((s for s in samples if isinstance(s, _Failed)), None)
        if failed is not None:
            return _failed_batch(failed)
        try:
            return collate(samples)
        except Exception as exc:
            return _failed_batch(f"cannot batch the samples together ({type(exc).__name__}: "
                                 f"{(str(exc).splitlines() or [''])[0][:300]}); do all images have the same "
                                 "size after the transforms (check transform_ops and Global.image_shape)?")

    return collate_or_fail


def _failure(batch):
    """The message of a failed batch, None for a real one."""
    if isinstance(batch, (list, tuple)) and len(batch) == 1:
        item = batch[0]
        if isinstance(item, paddle.Tensor) and item.dtype == paddle.uint8 and item.ndim == 1 \
                and item.shape[0] > len(_MAGIC):
            data = item.numpy().tobytes()
            if data.startswith(_MAGIC):
                return data[len(_MAGIC):].decode("utf-8", "replace")
    return None


class GuardedDataLoader(paddle.io.DataLoader):
    """A ``paddle.io.DataLoader`` whose iteration raises DataError in the caller's thread when a sample fails."""

    def __init__(self, dataset, batch_sampler=None, batch_size=1, shuffle=False, drop_last=False, num_workers=0,
                 use_shared_memory=False, collate_fn=None):
        if num_workers < 0:
            raise DataError(f"num_workers must be >= 0, got {num_workers}; use 0 to read in the main process")
        kwargs = ({"batch_sampler": batch_sampler} if batch_sampler is not None else
                  {"batch_size": batch_size, "shuffle": shuffle, "drop_last": drop_last})
        super().__init__(_Guarded(dataset), num_workers=num_workers, use_shared_memory=use_shared_memory,
                         collate_fn=_guard_collate(collate_fn or default_collate_fn), **kwargs)

    def __iter__(self):
        iterator = super().__iter__()
        for batch in iterator:
            message = _failure(batch)
            if message is not None:
                iterator._try_shutdown_all()  # stop the reader thread or workers now, not at garbage collection
                raise DataError(message)
            yield batch
