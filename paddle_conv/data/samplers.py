"""Batch samplers by name (``DataLoader.<split>.sampler.name``), with PaddleClas's semantics (docs/paddleclas.md)."""

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
    """``paddle.io.BatchSampler`` as older PaddleClas configs name it: the whole data set in every process."""

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False):
        super().__init__(dataset, batch_size, num_replicas=1, rank=0, shuffle=shuffle, drop_last=drop_last)


@SAMPLERS.register
class RASampler(paddle.io.DistributedBatchSampler):
    """Repeated augmentation (Hoffer et al.; DeiT's sampler), as PaddleClas's: each index ``num_repeats`` times
    in a row, dealt round-robin; each process keeps ``len(dataset) // 256 * 256 / processes`` of them."""

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
    """The batch sampler of a validated ``sampler`` section over ``dataset`` (``shuffle``, ``drop_last`` in
    ``train`` only; ``seed`` unless the section sets one; ``batch_size``, a fallback's, replaces the section's)."""
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
