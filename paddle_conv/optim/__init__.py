"""Optimizers and learning-rate schedules, registered by name for configs (PaddleClas's keys).

Config shape::

    Optimizer:
      name: Momentum            # Momentum | Adam | AdamW | RMSProp
      momentum: 0.9
      lr:
        name: Cosine            # Constant | Piecewise | Cosine | Linear | Step | MultiStepDecay
        learning_rate: 0.1
        warmup_epoch: 5         # linear warm-up from warmup_start_lr, then the schedule
      regularizer:              # coupled L2/L1 decay (Momentum, Adam, RMSProp)
        name: L2
        coeff: 0.0001

Keys every optimizer takes (as in PaddleClas):

- ``weight_decay``: AdamW's decoupled decay (a number); for the others a number is L2 decay.
  ``regularizer`` is the older spelling of coupled decay (AdamW refuses it). AdamW's ``coeff``
  is this project's older name of ``weight_decay``.
- ``no_weight_decay_name``: space-separated substrings of structured parameter names
  (``"norm bias pos_embed"``) whose parameters get no decay; ``one_dim_param_no_weight_decay``:
  no decay on 1-D parameters (biases, norms).
- ``clip_norm`` / ``clip_grad``: clip gradients to this global L2 norm (null: off).
- ``multi_precision``: float32 master weights under AMP O2 (no effect in float32 training).

Schedules are stepped once per iteration, so epoch-based settings are converted to steps with
``step_each_epoch``.
"""

import paddle

from ..errors import ConfigError
from ..registry import Registry
from .schedulers import LR_SCHEDULERS, register_lr_scheduler

OPTIMIZERS = Registry("optimizer")
register_optimizer = OPTIMIZERS.register

__all__ = ["LR_SCHEDULERS", "OPTIMIZERS", "build_lr", "build_optimizer", "register_lr_scheduler",
           "register_optimizer", "split_decay"]


def split_decay(named_parameters, no_weight_decay_name=None, one_dim_param_no_weight_decay=False):
    """Split ``[(name, param)]`` into ``(decayed, not_decayed)`` parameter lists.

    A parameter gets no decay when one of the space-separated substrings of
    ``no_weight_decay_name`` occurs in its structured name, or, with
    ``one_dim_param_no_weight_decay``, when it is 1-D.
    """
    names = (no_weight_decay_name.split() if isinstance(no_weight_decay_name, str)
             else list(no_weight_decay_name or ()))
    decayed, plain = [], []
    for name, param in named_parameters:
        skip = any(n in name for n in names) or (one_dim_param_no_weight_decay and len(param.shape) == 1)
        (plain if skip else decayed).append(param)
    return decayed, plain


def _groups(named, decay, no_weight_decay_name, one_dim_param_no_weight_decay):
    """The ``parameters`` argument: one list, the exempt parameters given their own zero regularizer.

    Not two parameter groups (``[{"params": ...}, {"params": ..., "weight_decay": 0.0}]``): Paddle 3.3's
    ``Optimizer.minimize``, which ``paddle.Model`` calls, fails on groups in dygraph (a TypeError in its
    backward); a parameter's own ``regularizer`` takes precedence over the optimizer's ``weight_decay``.
    """
    if not no_weight_decay_name and not one_dim_param_no_weight_decay:
        return [p for _, p in named]
    decayed, plain = split_decay(named, no_weight_decay_name, one_dim_param_no_weight_decay)
    if decay is not None:
        for param in plain:
            param.regularizer = paddle.regularizer.L2Decay(0.0)
    return decayed + plain


def _clip(clip_norm, clip_grad):
    norm = clip_norm if clip_norm is not None else clip_grad
    return None if norm is None else paddle.nn.ClipGradByGlobalNorm(float(norm))


def _coupled_decay(weight_decay, regularizer):
    """A regularizer (``paddle.regularizer``) from a plain ``weight_decay`` number or a built one."""
    if weight_decay is not None and regularizer is not None:
        raise ConfigError("Optimizer.weight_decay: give either weight_decay or regularizer, not both")
    if weight_decay is not None:
        return paddle.regularizer.L2Decay(float(weight_decay))
    return regularizer


@register_optimizer
def Momentum(parameters, learning_rate, momentum=0.9, use_nesterov=False, weight_decay=None, regularizer=None,
             no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None, clip_grad=None,
             multi_precision=False):
    """SGD with momentum (``paddle.optimizer.Momentum``)."""
    decay = _coupled_decay(weight_decay, regularizer)
    return paddle.optimizer.Momentum(
        learning_rate=learning_rate, momentum=momentum, use_nesterov=use_nesterov, weight_decay=decay,
        parameters=_groups(parameters, decay, no_weight_decay_name, one_dim_param_no_weight_decay),
        grad_clip=_clip(clip_norm, clip_grad), multi_precision=multi_precision)


@register_optimizer
def Adam(parameters, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8, weight_decay=None, regularizer=None,
         no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None, clip_grad=None,
         multi_precision=False):
    """Adam (``paddle.optimizer.Adam``); ``regularizer``/``weight_decay`` add coupled decay."""
    decay = _coupled_decay(weight_decay, regularizer)
    return paddle.optimizer.Adam(
        learning_rate=learning_rate, beta1=beta1, beta2=beta2, epsilon=epsilon, weight_decay=decay,
        parameters=_groups(parameters, decay, no_weight_decay_name, one_dim_param_no_weight_decay),
        grad_clip=_clip(clip_norm, clip_grad), multi_precision=multi_precision)


@register_optimizer
def RMSProp(parameters, learning_rate, momentum=0.0, rho=0.95, epsilon=1e-6, centered=False, weight_decay=None,
            regularizer=None, no_weight_decay_name=None, one_dim_param_no_weight_decay=False, clip_norm=None,
            clip_grad=None, multi_precision=False):
    """RMSProp (``paddle.optimizer.RMSProp``); ``rho`` is the squared-gradient average's decay."""
    decay = _coupled_decay(weight_decay, regularizer)
    return paddle.optimizer.RMSProp(
        learning_rate=learning_rate, rho=rho, epsilon=epsilon, momentum=momentum, centered=centered,
        weight_decay=decay, grad_clip=_clip(clip_norm, clip_grad),
        parameters=_groups(parameters, decay, no_weight_decay_name, one_dim_param_no_weight_decay))


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


def build_lr(lr_cfg, step_each_epoch, epochs):
    """The learning rate of ``Optimizer.lr``: a float (Constant) or a ``paddle.optimizer.lr.LRScheduler``."""
    kwargs = {k: v for k, v in lr_cfg.items() if k not in ("name", "step_each_epoch", "epochs", "verbose")}
    return LR_SCHEDULERS.build(lr_cfg["name"], step_each_epoch=step_each_epoch, epochs=epochs, **kwargs)


def _named(parameters):
    """``[(structured name, param)]`` of a Layer, or of a plain list (names: the params' own)."""
    if isinstance(parameters, paddle.nn.Layer):
        return list(parameters.named_parameters())
    return [(p.name, p) for p in parameters]


def build_optimizer(opt_cfg, parameters, step_each_epoch, epochs):
    """Build the optimizer of a validated ``Optimizer`` section for ``parameters`` (a Layer, whose
    structured names ``no_weight_decay_name`` matches, or a list of parameters).

    Returns ``(optimizer, lr)`` where ``lr`` is a float or the LRScheduler inside the optimizer.
    """
    lr = build_lr(opt_cfg["lr"], step_each_epoch, epochs)
    reg = opt_cfg.get("regularizer")
    decay = None
    if reg is not None:
        decay = (paddle.regularizer.L2Decay if reg["name"] == "L2" else paddle.regularizer.L1Decay)(reg["coeff"])
    kwargs = {k: v for k, v in opt_cfg.items() if k not in ("name", "lr", "regularizer")}
    optimizer = OPTIMIZERS.build(opt_cfg["name"], parameters=_named(parameters), learning_rate=lr,
                                 regularizer=decay, **kwargs)
    return optimizer, lr
