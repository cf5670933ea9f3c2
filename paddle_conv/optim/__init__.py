"""Optimizers and learning-rate schedules, registered by name for configs.

Config shape (PaddleClas's)::

    Optimizer:
      name: Momentum            # Momentum | Adam | AdamW
      momentum: 0.9
      lr:
        name: Cosine            # Constant | Piecewise | Cosine
        learning_rate: 0.1
        warmup_epoch: 5         # linear warm-up from warmup_start_lr, then the schedule
      regularizer:              # L2 or L1 weight decay (Momentum/Adam); AdamW takes weight_decay
        name: L2
        coeff: 0.0001

Schedules are stepped once per iteration (``paddle.callbacks.LRScheduler`` with ``by_step``),
so epoch-based settings are converted to steps with ``step_each_epoch``.
"""

import paddle

from ..errors import ConfigError
from ..registry import Registry
from .schedulers import LR_SCHEDULERS, register_lr_scheduler

OPTIMIZERS = Registry("optimizer")
register_optimizer = OPTIMIZERS.register

__all__ = ["LR_SCHEDULERS", "OPTIMIZERS", "build_lr", "build_optimizer", "register_lr_scheduler",
           "register_optimizer"]


@register_optimizer
def Momentum(parameters, learning_rate, weight_decay=None, momentum=0.9, use_nesterov=False):
    """SGD with momentum (``paddle.optimizer.Momentum``)."""
    return paddle.optimizer.Momentum(learning_rate=learning_rate, momentum=momentum, parameters=parameters,
                                     use_nesterov=use_nesterov, weight_decay=weight_decay)


@register_optimizer
def Adam(parameters, learning_rate, weight_decay=None, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam (``paddle.optimizer.Adam``); ``regularizer`` adds coupled L2/L1 decay."""
    return paddle.optimizer.Adam(learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                                 parameters=parameters, weight_decay=weight_decay)


@register_optimizer
def AdamW(parameters, learning_rate, weight_decay=None, beta1=0.9, beta2=0.999, epsilon=1e-8, coeff=0.01):
    """AdamW (``paddle.optimizer.AdamW``): decoupled weight decay ``coeff`` (no ``regularizer``)."""
    if weight_decay is not None:
        raise ConfigError("Optimizer.regularizer: AdamW decouples weight decay; remove the regularizer "
                          "and set Optimizer.coeff instead")
    return paddle.optimizer.AdamW(learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon,
                                  parameters=parameters, weight_decay=coeff)


def build_lr(lr_cfg, step_each_epoch, epochs):
    """The learning rate of ``Optimizer.lr``: a float (Constant) or a ``paddle.optimizer.lr.LRScheduler``."""
    kwargs = {k: v for k, v in lr_cfg.items() if k != "name"}
    return LR_SCHEDULERS.build(lr_cfg["name"], step_each_epoch=step_each_epoch, epochs=epochs, **kwargs)


def build_optimizer(opt_cfg, parameters, step_each_epoch, epochs):
    """Build the optimizer of a validated ``Optimizer`` section for ``parameters``.

    Returns ``(optimizer, lr)`` where ``lr`` is a float or the LRScheduler inside the optimizer.
    """
    lr = build_lr(opt_cfg["lr"], step_each_epoch, epochs)
    reg = opt_cfg.get("regularizer")
    decay = None
    if reg is not None:
        decay = (paddle.regularizer.L2Decay if reg["name"] == "L2" else paddle.regularizer.L1Decay)(reg["coeff"])
    kwargs = {k: v for k, v in opt_cfg.items() if k not in ("name", "lr", "regularizer")}
    optimizer = OPTIMIZERS.build(opt_cfg["name"], parameters=parameters, learning_rate=lr,
                                 weight_decay=decay, **kwargs)
    return optimizer, lr
