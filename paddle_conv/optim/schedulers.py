"""Learning-rate schedules by name (``Optimizer.lr.name``) with PaddleClas's keys: each returns a float
or an LRScheduler stepped once per iteration; ``warmup_epoch``/``warmup_start_lr`` (linear warm-up),
``by_epoch`` (change only at epoch boundaries), ``last_epoch`` (start as if that many were done)."""

import paddle

from ..errors import ConfigError
from ..notes import note_once
from ..registry import Registry

LR_SCHEDULERS = Registry("lr scheduler")
register_lr_scheduler = LR_SCHEDULERS.register


class ByEpoch(paddle.optimizer.lr.LRScheduler):
    """Step ``schedule`` (counted in epochs) once per iteration: the rate of epoch ``step // steps``."""

    def __init__(self, schedule, step_each_epoch, last_epoch=-1):
        self.schedule, self.steps = schedule, max(1, step_each_epoch)
        super().__init__(schedule.base_lr, last_epoch)

    def get_lr(self):
        self.schedule.step(self.last_epoch // self.steps)
        return self.schedule.last_lr


def _units(step_each_epoch, by_epoch):
    return 1 if by_epoch else step_each_epoch


def _finish(schedule, learning_rate, step_each_epoch, epochs, warmup_epoch, warmup_start_lr, by_epoch, last_epoch):
    """Add the warm-up, the by-epoch stepping and the starting step to ``schedule`` (in units)."""
    warmup_epoch = min(warmup_epoch, epochs)
    warmup = round(warmup_epoch * _units(step_each_epoch, by_epoch))
    if warmup > 0:
        schedule = paddle.optimizer.lr.LinearWarmup(learning_rate=schedule, warmup_steps=warmup,
                                                    start_lr=warmup_start_lr, end_lr=learning_rate)
    if by_epoch:
        if not isinstance(schedule, paddle.optimizer.lr.LRScheduler):
            return schedule
        schedule = ByEpoch(schedule, step_each_epoch)
    if last_epoch > -1 and isinstance(schedule, paddle.optimizer.lr.LRScheduler):
        schedule.step(last_epoch * (step_each_epoch if by_epoch else 1) + 1)
    return schedule


def _decay_units(step_each_epoch, epochs, warmup_epoch, by_epoch):
    """Length of the schedule after warm-up, in its units (steps, or epochs with ``by_epoch``)."""
    units = _units(step_each_epoch, by_epoch)
    return round((epochs - min(warmup_epoch, epochs)) * units)


@register_lr_scheduler
def Constant(learning_rate, step_each_epoch, epochs, warmup_epoch=0.0, warmup_start_lr=0.0, by_epoch=False,
             last_epoch=-1):
    """A fixed rate (after an optional warm-up)."""
    return _finish(float(learning_rate), learning_rate, step_each_epoch, epochs, warmup_epoch, warmup_start_lr,
                   by_epoch, last_epoch)


@register_lr_scheduler
def Piecewise(step_each_epoch, epochs, decay_epochs=None, values=None, learning_rate=None, warmup_epoch=0.0,
              warmup_start_lr=0.0, by_epoch=False, last_epoch=-1):
    """``values[i]`` from epoch ``decay_epochs[i-1]`` on (as many values as epochs: the last one stays);
    with ``learning_rate`` (PaddleClas's rule) a tenfold decay every 30 epochs replaces them."""
    if learning_rate:
        if decay_epochs is not None or values is not None:
            note_once("Optimizer.lr.learning_rate", "Piecewise with learning_rate decays it tenfold every 30 "
                      "epochs (PaddleClas's rule); decay_epochs and values are replaced. Remove learning_rate "
                      "to use them")
        decay_epochs = list(range(30, epochs, 30))
        values = [learning_rate * 0.1**i for i in range(len(decay_epochs) + 1)]
        if not decay_epochs:  # 30 epochs or fewer: constant (paddle needs one boundary)
            decay_epochs, values = [epochs], [learning_rate] * 2
    if not values or decay_epochs is None:
        raise ConfigError("Optimizer.lr: Piecewise needs 'decay_epochs' and 'values', or 'learning_rate'")
    if len(values) == len(decay_epochs) and values:
        values = [*values, values[-1]]
    if len(values) != len(decay_epochs) + 1:
        raise ConfigError(f"Optimizer.lr.values: Piecewise needs len(decay_epochs) + 1 = {len(decay_epochs) + 1} "
                          f"values (or as many as decay_epochs: the last one stays), got {len(values)}")
    units = _units(step_each_epoch, by_epoch)
    schedule = paddle.optimizer.lr.PiecewiseDecay(boundaries=[round(e * units) for e in decay_epochs],
                                                  values=list(values))
    return _finish(schedule, values[0], step_each_epoch, epochs, warmup_epoch, warmup_start_lr, by_epoch, last_epoch)


@register_lr_scheduler
def Cosine(learning_rate, step_each_epoch, epochs, eta_min=0.0, warmup_epoch=0.0, warmup_start_lr=0.0,
           by_epoch=False, last_epoch=-1):
    """Cosine decay from ``learning_rate`` to ``eta_min`` over the epochs after warm-up."""
    total = _decay_units(step_each_epoch, epochs, warmup_epoch, by_epoch)
    schedule = (paddle.optimizer.lr.CosineAnnealingDecay(learning_rate=learning_rate, T_max=total, eta_min=eta_min)
                if total > 0 else float(learning_rate))
    return _finish(schedule, learning_rate, step_each_epoch, epochs, warmup_epoch, warmup_start_lr, by_epoch,
                   last_epoch)


@register_lr_scheduler
def Linear(learning_rate, step_each_epoch, epochs, end_lr=0.0, power=1.0, cycle=False, warmup_epoch=0.0,
           warmup_start_lr=0.0, by_epoch=False, last_epoch=-1):
    """Polynomial decay (``power`` 1: linear) from ``learning_rate`` to ``end_lr`` after warm-up."""
    total = _decay_units(step_each_epoch, epochs, warmup_epoch, by_epoch)
    schedule = (paddle.optimizer.lr.PolynomialDecay(learning_rate=learning_rate, decay_steps=total, end_lr=end_lr,
                                                    power=power, cycle=cycle)
                if total > 0 else float(learning_rate))
    return _finish(schedule, learning_rate, step_each_epoch, epochs, warmup_epoch, warmup_start_lr, by_epoch,
                   last_epoch)


@register_lr_scheduler
def Step(learning_rate, step_size, gamma, step_each_epoch, epochs, warmup_epoch=0.0, warmup_start_lr=0.0,
         by_epoch=False, last_epoch=-1):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs (may be fractional: 2.4)."""
    size = max(1, int(step_size * _units(step_each_epoch, by_epoch)))
    schedule = paddle.optimizer.lr.StepDecay(learning_rate=learning_rate, step_size=size, gamma=gamma)
    return _finish(schedule, learning_rate, step_each_epoch, epochs, warmup_epoch, warmup_start_lr, by_epoch,
                   last_epoch)


@register_lr_scheduler
def MultiStepDecay(learning_rate, milestones, step_each_epoch, epochs, gamma=0.1, warmup_epoch=0.0,
                   warmup_start_lr=0.0, by_epoch=False, last_epoch=-1):
    """Multiply the rate by ``gamma`` at each epoch of ``milestones``."""
    units = _units(step_each_epoch, by_epoch)
    schedule = paddle.optimizer.lr.MultiStepDecay(learning_rate=learning_rate,
                                                  milestones=[round(m * units) for m in milestones], gamma=gamma)
    return _finish(schedule, learning_rate, step_each_epoch, epochs, warmup_epoch, warmup_start_lr, by_epoch,
                   last_epoch)
