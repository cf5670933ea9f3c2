"""Learning-rate schedules by name (``Optimizer.lr.name``), each with optional linear warm-up.

Every builder takes ``step_each_epoch`` and ``epochs`` (filled in by the trainer) and returns a
float (constant rate) or a ``paddle.optimizer.lr.LRScheduler`` stepped once per iteration.
"""

import paddle

from ..errors import ConfigError
from ..registry import Registry

LR_SCHEDULERS = Registry("lr scheduler")
register_lr_scheduler = LR_SCHEDULERS.register


def _with_warmup(schedule, learning_rate, step_each_epoch, warmup_epoch, warmup_start_lr):
    if warmup_epoch <= 0:
        return schedule
    return paddle.optimizer.lr.LinearWarmup(learning_rate=schedule, warmup_steps=int(warmup_epoch * step_each_epoch),
                                            start_lr=warmup_start_lr, end_lr=learning_rate)


@register_lr_scheduler
def Constant(learning_rate, step_each_epoch, epochs, warmup_epoch=0.0, warmup_start_lr=0.0):
    """A fixed rate (after an optional warm-up)."""
    return _with_warmup(float(learning_rate), learning_rate, step_each_epoch, warmup_epoch, warmup_start_lr)


@register_lr_scheduler
def Piecewise(learning_rate, step_each_epoch, epochs, decay_epochs=(), values=(), warmup_epoch=0.0,
              warmup_start_lr=0.0):
    """``values[i]`` from epoch ``decay_epochs[i-1]`` on (``values[0] == learning_rate`` if given)."""
    values = list(values) or [learning_rate * 0.1**i for i in range(len(decay_epochs) + 1)]
    if len(values) != len(decay_epochs) + 1:
        raise ConfigError(f"Optimizer.lr.values: Piecewise needs len(decay_epochs) + 1 = {len(decay_epochs) + 1} "
                          f"values, got {len(values)}")
    boundaries = [int(e * step_each_epoch) for e in decay_epochs]
    schedule = paddle.optimizer.lr.PiecewiseDecay(boundaries=boundaries, values=values)
    return _with_warmup(schedule, values[0], step_each_epoch, warmup_epoch, warmup_start_lr)


@register_lr_scheduler
def Cosine(learning_rate, step_each_epoch, epochs, eta_min=0.0, warmup_epoch=0.0, warmup_start_lr=0.0):
    """Cosine decay from ``learning_rate`` to ``eta_min`` over the epochs after warm-up."""
    warmup_steps = int(warmup_epoch * step_each_epoch)
    total = max(1, epochs * step_each_epoch - warmup_steps)
    schedule = paddle.optimizer.lr.CosineAnnealingDecay(learning_rate=learning_rate, T_max=total, eta_min=eta_min)
    return _with_warmup(schedule, learning_rate, step_each_epoch, warmup_epoch, warmup_start_lr)
