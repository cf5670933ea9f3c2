"""Make paddle_conv's classification models and losses visible to PaddleClas's engine (``ppcls.arch``,
``ppcls.loss``), so a PaddleClas config can say ``Arch: {name: oct_resnet50, class_num: 10}``::

    python -m paddle_conv.deploy.paddleclas PaddleClas/tools/train.py -c my_config.yaml -o Global.epochs=1
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
    """A PaddleClas ``Arch`` builder of the registered model ``name``: the section is read as ``tools/train.py``
    reads it (:func:`paddle_conv.config.arch_keys.validate_arch`), a key the model cannot honour refused."""

    def build(**kwargs):
        return build_model(validate_arch(ARCH_SOURCE, "Arch", {"name": name, **kwargs}))

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"paddle_conv model {name!r} for PaddleClas's Arch section."
    setattr(build, _MARK, name)
    return build


def loss_adapter(name):
    """PaddleClas loss class of the registered loss ``name``: ``(input or its "logits", label) -> {name: loss}``."""

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


def _add(module, names, make, overwrite):
    """``(added, kept)`` names: ``make(name)`` set on ``module``, PaddleClas's own kept unless ``overwrite``."""
    added, kept = [], []
    for name in names:
        present = getattr(module, name, None)
        if present is not None and getattr(present, _MARK, None) is None and not overwrite:
            kept.append(name)
        else:
            setattr(module, name, make(name))
            added.append(name)
    return added, kept


def register_into_ppcls(overwrite=False):
    """Add every registered classification model to ``ppcls.arch`` and every loss to ``ppcls.loss``, PaddleClas's
    own names kept unless ``overwrite``. Returns ``{"models", "losses", "kept_ppcls"}`` (names); PaddleConvError
    when PaddleClas is not importable."""
    arch = _ppcls_module("arch")
    if arch is None:
        raise PaddleConvError(
            "PaddleClas is not importable (neither 'ppcls' nor 'paddleclas.ppcls'): put a PaddleClas "
            "source checkout on PYTHONPATH (its engine and losses are not in the PyPI wheel), or run "
            "`python -m paddle_conv.deploy.paddleclas PaddleClas/tools/train.py -c CONFIG`"
        )
    models, kept_models = _add(arch, list_models(task="classification"), model_builder, overwrite)
    loss_module = _ppcls_module("loss")  # None in the wheel
    losses, kept_losses = _add(loss_module, LOSSES.names(), loss_adapter, overwrite) if loss_module else ([], [])
    return {"models": models, "losses": losses, "kept_ppcls": kept_models + kept_losses}


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
        sys.argv = [script, *argv[1:]]
        runpy.run_path(script, run_name="__main__")
    except PaddleConvError as exc:  # no PaddleClas, or our builders refusing the config (an Arch key, ...)
        return print_error(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
