"""Make paddle_conv's models and losses visible to PaddleClas's training engine.

PaddleClas builds a model with ``getattr(ppcls.arch, Arch.name)(**Arch)`` and each loss with
``eval(name)`` inside ``ppcls.loss``; :func:`register_into_ppcls` adds every registered
classification model (by its card; PaddleClas's engine does not train detectors) and every loss
there, so a PaddleClas config can say ``Arch: {name: oct_resnet50, class_num: 10}``.
Names PaddleClas already has (its own ``CELoss``, say) are left to PaddleClas unless
``overwrite=True``.

PaddleClas's engine, losses and ``tools/train.py`` are in its source tree (verified: PaddleClas
2.6.0, Paddle 3.3.1); the ``paddleclas`` wheel on PyPI ships only ``ppcls.arch`` and
``ppcls.utils``. To train with PaddleClas's own script, run it through this module, which puts
the source tree on ``sys.path``, registers, and runs the script unchanged::

    python -m paddle_conv.deploy.paddleclas PaddleClas/tools/train.py -c my_config.yaml -o Global.epochs=1

or call ``paddle_conv.register_into_ppcls()`` in your own launcher before ``Engine(config)``.
"""

import importlib
import os
import runpy
import sys

import paddle

from ..build import build_model
from ..cli import print_error
from ..config.arch_keys import validate_arch
from ..errors import PaddleConvError
from ..losses import LOSSES
from ..registry import list_models

_MARK = "_paddle_conv_name"


def _ppcls_module(sub):
    """``ppcls.<sub>`` of a source checkout, else ``paddleclas.ppcls.<sub>`` of the wheel; None if absent."""
    for package in ("ppcls", "paddleclas.ppcls"):
        try:
            return importlib.import_module(f"{package}.{sub}")
        except ImportError as exc:
            missing = exc.name or ""
            if not (package.startswith(missing) or missing.startswith(package)):
                raise  # PaddleClas is there but one of its own imports failed: show that
    return None


#: How errors of the ``Arch`` section name it here (PaddleClas's engine does not tell the builder its file).
ARCH_SOURCE = "PaddleClas config"


def model_builder(name):
    """A PaddleClas ``Arch`` builder of the registered model ``name``: the ``Arch`` section is read as
    ``tools/train.py`` reads it (:func:`paddle_conv.config.arch_keys.validate_arch`) and builds the
    same network, with PaddleClas's common keys ``class_num``, ``pretrained`` (false, true, a path),
    ``drop_rate``, ``drop_path_rate``, ``head_init_scale`` and ``stop_grad_layers``, its model keys
    (``use_fused_attn``, ``classifier_dropout``, ...) and the keys of the PaddleClas architecture the
    config was written for (``paddle_conv.arch.FOREIGN_KEYS``: a note at their default); a key the
    model cannot honour is a ConfigError naming it. (``use_sync_bn`` never arrives: PaddleClas's
    ``build_model`` takes it and converts the BatchNorm layers itself.)"""

    def build(**kwargs):
        return build_model(validate_arch(ARCH_SOURCE, "Arch", {"name": name, **kwargs}))

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"paddle_conv model {name!r} for PaddleClas's Arch section."
    setattr(build, _MARK, name)
    return build


def loss_adapter(name):
    """A PaddleClas loss class of the registered loss ``name``: ``(input, label) -> {name: loss}``.

    A dict ``input`` (PaddleClas's multi-output models) contributes its ``"logits"`` entry.
    """

    class Loss(paddle.nn.Layer):
        def __init__(self, **kwargs):
            super().__init__()
            self.loss = LOSSES.build(name, **kwargs)

        def forward(self, input, batch):
            logits = input["logits"] if isinstance(input, dict) else input
            return {name: self.loss(logits, batch)}

    Loss.__name__ = Loss.__qualname__ = name
    setattr(Loss, _MARK, name)
    return Loss


def _add(module, names, make, overwrite, report):
    for name in names:
        present = getattr(module, name, None)
        if present is not None and getattr(present, _MARK, None) is None and not overwrite:
            report["kept_ppcls"].append(name)
            continue
        setattr(module, name, make(name))
        report["added"].append(name)


def register_into_ppcls(overwrite=False):
    """Add every registered classification model to ``ppcls.arch`` and every loss to ``ppcls.loss``.

    Args:
        overwrite: replace PaddleClas's own entries of the same name (default: keep them).

    Returns ``{"models": [...], "losses": [...], "kept_ppcls": [...]}``: the names added and the
    names left to PaddleClas. Calling it again is harmless. Raises PaddleConvError when
    PaddleClas is not importable.
    """
    arch = _ppcls_module("arch")
    if arch is None:
        raise PaddleConvError(
            "PaddleClas is not importable (neither 'ppcls' nor 'paddleclas.ppcls'): put a PaddleClas "
            "source checkout on PYTHONPATH (its engine and losses are not in the PyPI wheel), or run "
            "`python -m paddle_conv.deploy.paddleclas PaddleClas/tools/train.py -c CONFIG`"
        )
    models = {"added": [], "kept_ppcls": []}
    _add(arch, list_models(task="classification"), model_builder, overwrite, models)
    losses = {"added": [], "kept_ppcls": []}
    loss_module = _ppcls_module("loss")
    if loss_module is not None:  # the wheel has no ppcls.loss
        _add(loss_module, LOSSES.names(), loss_adapter, overwrite, losses)
    return {"models": models["added"], "losses": losses["added"],
            "kept_ppcls": models["kept_ppcls"] + losses["kept_ppcls"]}


def main(argv=None):
    """``python -m paddle_conv.deploy.paddleclas PaddleClas/tools/SCRIPT.py ARGS...``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or not argv[0].endswith(".py") or not os.path.isfile(argv[0]):
        print("usage: python -m paddle_conv.deploy.paddleclas PaddleClas/tools/train.py -c CONFIG [-o K=V ...]\n"
              "(the first argument must be a script of a PaddleClas source checkout)", file=sys.stderr)
        return 2
    script = os.path.abspath(argv[0])
    sys.path.insert(0, os.path.dirname(os.path.dirname(script)))  # the checkout root, where ppcls/ is
    try:
        register_into_ppcls()
    except PaddleConvError as exc:
        return print_error(exc)
    sys.argv = [script, *argv[1:]]
    try:
        runpy.run_path(script, run_name="__main__")
    except PaddleConvError as exc:  # our builders refusing the config (an Arch key a model cannot honour, ...)
        return print_error(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
