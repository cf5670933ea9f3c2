"""Optimizers and learning-rate schedules by name, with PaddleClas's keys (docs/training-and-configs.md):
``weight_decay`` (AdamW: decoupled; else L2), ``regularizer``, ``no_weight_decay_name``,
``one_dim_param_no_weight_decay``, ``clip_norm``/``clip_grad``, ``multi_precision``."""

import paddle

from ..errors import ConfigError
from ..registry import Registry
from .schedulers import LR_SCHEDULERS, register_lr_scheduler

OPTIMIZERS = Registry("optimizer")
register_optimizer = OPTIMIZERS.register

__all__ = ["LR_SCHEDULERS", "OPTIMIZERS", "build_optimizer", "register_lr_scheduler",
           "register_optimizer", "split_decay"]


def split_decay(named_parameters, no_weight_decay_name=None, one_dim_param_no_weight_decay=False):
    """``(decayed, not_decayed)`` of ``[(name, param)]``: no decay where a space-separated substring of
    ``no_weight_decay_name`` is in the name, or (``one_dim_param_no_weight_decay``) on 1-D parameters."""
    names = (no_weight_decay_name.split() if isinstance(no_weight_decay_name, str)
             else list(no_weight_decay_name or ()))
    decayed, plain = [], []
    for name, param in named_parameters:
        skip = any(n in name for n in names) or (one_dim_param_no_weight_decay and len(param.shape) == 1)
        (plain if skip else decayed).append(param)
    return decayed, plain


def _coupled(parameters, weight_decay, regularizer, no_weight_decay_name, one_dim_param_no_weight_decay, clip_norm,
             clip_grad):
    """The ``weight_decay``, ``parameters`` and ``grad_clip`` arguments of an optimizer with coupled (L2/L1) decay:
    one parameter list, exempt parameters with their own zero regularizer (Paddle 3.3's ``Optimizer.minimize``,
    which ``paddle.Model`` calls, fails on parameter groups in dygraph)."""
    if weight_decay is not None and regularizer is not None:
        raise ConfigError("Optimizer.weight_decay: give either weight_decay or regularizer, not both")
    decay = paddle.regularizer.L2Decay(float(weight_decay)) if weight_decay is not None else regularizer
    params = [p for _, p in parameters]
    if no_weight_decay_name or one_dim_param_no_weight_decay:
        decayed, plain = split_decay(parameters, no_weight_decay_name, one_dim_param_no_weight_decay)
        if decay is not None:
            for param in plain:
                param.regularizer = paddle.regularizer.L2Decay(0.0)
        params = decayed + plain
    return {"weight_decay": decay, "parameters": params, "grad_clip": _clip(clip_norm, clip_grad)}


def _clip(clip_norm, clip_grad):
    norm = clip_norm if clip_norm is not None else clip_grad
    return None if norm is None else paddle.nn.ClipGradByGlobalNorm(float(norm))


@register_optimizer
def Momentum(parameters, learning_rate, momentum=0.9, use_nesterov=False, weight_decay=None, regularizer=None,
             no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None, clip_grad=None,
             multi_precision=False):
    """SGD with momentum (``paddle.optimizer.Momentum``)."""
    return paddle.optimizer.Momentum(
        learning_rate=learning_rate, momentum=momentum, use_nesterov=use_nesterov, multi_precision=multi_precision,
        **_coupled(parameters, weight_decay, regularizer, no_weight_decay_name, one_dim_param_no_weight_decay,
                   clip_norm, clip_grad))


@register_optimizer
def Adam(parameters, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=None, regularizer=None,
         no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None, clip_grad=None,
         multi_precision=False):
    """Adam (``paddle.optimizer.Adam``); ``regularizer``/``weight_decay`` add coupled decay."""
    return paddle.optimizer.Adam(
        learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon, multi_precision=multi_precision,
        **_coupled(parameters, weight_decay, regularizer, no_weight_decay_name, one_dim_param_no_weight_decay,
                   clip_norm, clip_grad))


@register_optimizer
def RMSProp(parameters, learning_rate, momentum=0.0, rho=0.95, epsilon=1e-6, centered=False, weight_decay=None,
            regularizer=None, no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None,
            clip_grad=None, multi_precision=False):
    """RMSProp (``paddle.optimizer.RMSProp``); ``rho`` is the squared-gradient average's decay."""
    return paddle.optimizer.RMSProp(
        learning_rate=learning_rate, rho=rho, epsilon=epsilon, momentum=momentum, centered=centered,
        **_coupled(parameters, weight_decay, regularizer, no_weight_decay_name, one_dim_param_no_weight_decay,
                   clip_norm, clip_grad))


@register_optimizer
def AdamW(parameters, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=None, coeff=None,
          regularizer=None, no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None,
          clip_grad=None, amsgrad=False, multi_precision=False):
    """AdamW (``paddle.optimizer.AdamW``): decoupled ``weight_decay`` (``coeff``: older name; default
    0.01), skipped on the parameters :func:`split_decay` exempts."""
    if regularizer is not None:
        raise ConfigError("Optimizer.regularizer: AdamW decouples weight decay; remove the regularizer "
                          "and set Optimizer.weight_decay instead")
    if weight_decay is not None and coeff is not None:
        raise ConfigError("Optimizer.coeff: coeff is the older name of weight_decay; keep one")
    rate = weight_decay if weight_decay is not None else (coeff if coeff is not None else 0.01)
    _, plain = split_decay(parameters, no_weight_decay_name, one_dim_param_no_weight_decay)
    exempt = {p.name for p in plain}
    return paddle.optimizer.AdamW(
        learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon, weight_decay=float(rate),
        parameters=[p for _, p in parameters], grad_clip=_clip(clip_norm, clip_grad), amsgrad=amsgrad,
        apply_decay_param_fun=(lambda name: name not in exempt) if exempt else None,
        multi_precision=multi_precision)


def build_optimizer(opt_cfg, parameters, step_each_epoch, epochs):
    """``(optimizer, lr)`` of a validated ``Optimizer`` section for ``parameters`` (a Layer, whose structured
    names :func:`split_decay` reads, or a list); ``lr``: a float (Constant) or the optimizer's LRScheduler."""
    lr_kwargs = {k: v for k, v in opt_cfg["lr"].items() if k not in ("name", "step_each_epoch", "epochs", "verbose")}
    lr = LR_SCHEDULERS.build(opt_cfg["lr"]["name"], step_each_epoch=step_each_epoch, epochs=epochs, **lr_kwargs)
    reg = opt_cfg.get("regularizer")
    decay = None
    if reg is not None:
        decay = (paddle.regularizer.L2Decay if reg["name"] == "L2" else paddle.regularizer.L1Decay)(reg["coeff"])
    named = (list(parameters.named_parameters()) if isinstance(parameters, paddle.nn.Layer)
             else [(p.name, p) for p in parameters])
    kwargs = {k: v for k, v in opt_cfg.items() if k not in ("name", "lr", "regularizer")}
    optimizer = OPTIMIZERS.build(opt_cfg["name"], parameters=named, learning_rate=lr, regularizer=decay, **kwargs)
    return optimizer, lr
