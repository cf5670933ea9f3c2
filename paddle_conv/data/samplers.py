"""Batch samplers by name (``DataLoader.<split>.sampler.name``), with PaddleClas's semantics.

- ``DistributedBatchSampler``: Paddle's (one shard per process; the order of epoch ``e`` is drawn
  from ``e``, set by the trainer, so a resumed run sees the same batches).
- ``BatchSampler``: ``paddle.io.BatchSampler``'s name in PaddleClas's older configs: the whole data
  set in every process (no shards), its order drawn from the epoch as above.
- ``RASampler``: repeated augmentation (DeiT), below.
- ``MultiScaleSampler``: one image size per batch (:mod:`paddle_conv.data.multi_scale`).

:func:`build_batch_sampler` builds one from a validated sampler section.
"""

import inspect
import math

import numpy as np
import paddle

from ..errors import DataError
from ..registry import Registry

SAMPLERS = Registry("sampler")
SAMPLERS.register(paddle.io.DistributedBatchSampler, name="DistributedBatchSampler")


@SAMPLERS.register
class BatchSampler(paddle.io.DistributedBatchSampler):
    """``paddle.io.BatchSampler`` as PaddleClas's configs name it: every process reads the whole
    data set (one replica, no shards); the order of epoch ``e`` is drawn from ``e`` (``set_epoch``)."""

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False):
        super().__init__(dataset, batch_size, num_replicas=1, rank=0, shuffle=shuffle, drop_last=drop_last)


@SAMPLERS.register
class RASampler(paddle.io.DistributedBatchSampler):
    """Repeated augmentation (Hoffer et al.; DeiT's sampler), as PaddleClas's ``RASampler``.

    Each index of the (shuffled) data set is taken ``num_repeats`` times in a row, the list is
    padded from its start to a multiple of the processes and dealt out round-robin; each process
    then keeps its first ``len(dataset) // 256 * 256 / processes`` indices, so an epoch sees as
    many samples as the data set, about a ``num_repeats``-th of its images, each several times
    (with different random augmentations). On one process the copies of an image share a batch.

    The order of epoch ``e`` is drawn from ``e`` (``set_epoch``, as ``DistributedBatchSampler``).
    A data set of fewer than 256 samples (less than one batch after that cut) would give an empty
    epoch: :class:`~paddle_conv.errors.DataError`.
    """

    def __init__(self, dataset, batch_size, num_replicas=None, rank=None, shuffle=False, drop_last=False,
                 num_repeats=3):
        super().__init__(dataset, batch_size, num_replicas, rank, shuffle, drop_last)
        if not isinstance(num_repeats, int) or isinstance(num_repeats, bool) or num_repeats < 1:
            raise DataError(f"RASampler.num_repeats must be an integer >= 1, got {num_repeats!r}")
        self.num_repeats = num_repeats
        self.num_samples = math.ceil(len(dataset) * num_repeats / self.nranks)
        self.total_size = self.num_samples * self.nranks
        self.num_selected_samples = int(len(dataset) // 256 * 256 / self.nranks)
        if len(self) == 0:
            raise DataError(f"RASampler: an epoch takes len(dataset) // 256 * 256 = "
                            f"{len(dataset) // 256 * 256} of the {len(dataset)} samples (split over {self.nranks} "
                            f"processes), less than one batch of {batch_size}; use DistributedBatchSampler for "
                            "so small a data set, or more data")

    def __iter__(self):
        order = np.arange(len(self.dataset))
        if self.shuffle:
            np.random.RandomState(self.epoch).shuffle(order)
            self.epoch += 1
        repeated = np.repeat(order, self.num_repeats).tolist()
        repeated += repeated[:self.total_size - len(repeated)]
        mine = repeated[self.local_rank:self.total_size:self.nranks][:self.num_selected_samples]
        for start in range(0, len(mine), self.batch_size):
            batch = mine[start:start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self):
        full, rest = divmod(self.num_selected_samples, self.batch_size)
        return full + int(rest > 0 and not self.drop_last)


def build_batch_sampler(dataset, section, train, seed=0, batch_size=None):
    """The batch sampler of a validated ``sampler`` section over ``dataset``.

    ``shuffle`` and ``drop_last`` hold in training only (evaluation sees every sample in order);
    a sampler taking ``seed`` gets ``Global.seed`` unless the section sets one; ``batch_size``
    (a fallback data set's) replaces the section's.
    """
    builder = SAMPLERS.get(section["name"])
    params = inspect.signature(builder).parameters
    kwargs = {k: v for k, v in section.items() if k != "name"}
    for key in ("shuffle", "drop_last"):
        if key in params:
            kwargs[key] = kwargs.get(key, params[key].default) and train
    if "seed" in params and kwargs.get("seed") is None:
        kwargs["seed"] = seed
    if batch_size is not None and "batch_size" in params:
        kwargs["batch_size"] = batch_size
    return builder(dataset, **kwargs)
