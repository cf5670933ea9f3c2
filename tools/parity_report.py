"""Measure torch-vs-Paddle parity of registered models and print the max differences.

    python tools/parity_report.py                       # every registered model
    python tools/parity_report.py --models "oct_resnet*" --size 64 --train-dtype float32

Per model: eval outputs in float32, train-mode outputs and every gradient in ``--train-dtype``, dropout off
(docs/tools_inputs.md). Exit status 1 when a model fails the tolerances, 2 on a bad option or a model that
cannot run at the size asked for.
"""

import argparse
import inspect
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from paddle_conv.cli import print_error, run_cli  # noqa: E402
from paddle_conv.errors import ConfigError, PaddleConvError  # noqa: E402
from paddle_conv.registry import MODELS, list_models  # noqa: E402
from weights_bridge import list_references, parity  # noqa: E402

#: Image size of a model whose builder names none, and the largest default size (bigger models shrink).
DEFAULT_SIZE = DEFAULT_MAX_SIZE = 64
#: Builder arguments that fix the image size a model is built for.
SIZE_ARGUMENTS = ("img_size", "input_size")


def model_size(name, size=None):
    """``(size, kwargs)``: the image size ``name`` runs at, and the builder arguments that build it for it."""
    params = inspect.signature(MODELS.get(name)).parameters
    key = next((k for k in SIZE_ARGUMENTS if k in params), None)
    if key is None:
        return size or DEFAULT_SIZE, {}
    native = params[key].default
    size = size or min(native, DEFAULT_MAX_SIZE)
    return size, ({} if size == native else {key: size})


def quiet_(model):
    """Set every dropout and stochastic-depth probability of a torch or Paddle ``model`` to 0; return it."""
    layers = model.modules() if hasattr(model, "modules") else model.sublayers()
    for layer in layers:
        if type(layer).__name__.startswith(("Dropout", "AlphaDropout")) and hasattr(layer, "p"):
            layer.p = 0.0
        if hasattr(layer, "drop_prob"):
            layer.drop_prob = 0.0
    return model


def accept_rounding_noise_(report, dtype):
    """Mark as ok the gradients that are zero up to rounding on both sides (below ``1000 eps`` of ``dtype`` times
    the largest gradient, e.g. a bias a softmax ignores); returns ``report``."""
    grads = [d for d in report.diffs if d.name.startswith("grad") and d.max_rel > 0]
    scale = max((d.max_abs / d.max_rel for d in grads if np.isfinite(d.max_rel)), default=0.0)
    noise = 1000 * np.finfo(dtype).eps * scale
    for d in grads:
        if not d.ok and np.isfinite(d.max_rel) and d.max_abs <= noise and d.max_abs / d.max_rel <= noise:
            d.ok, d.note = True, f"{d.note} (zero up to rounding: both sides below {noise:.1e})"
    if report.ok:
        report.divergence = None
    return report


def check_args(args):
    """ConfigError naming the first bad option; the ``(with reference, without)`` model names otherwise."""
    for option, value, low, high in (("--batch", args.batch, 1, 64), ("--size", args.size, 8, 512),
                                     ("--num-classes", args.num_classes, 1, 10000)):
        if value is not None and not low <= value <= high:
            raise ConfigError(f"{option} {value}: must be between {low} and {high}")
    names = list_models(args.models)
    if not names:
        raise ConfigError(f"--models {args.models!r} matches no registered model; list them with "
                          "python -c 'import paddle_conv; print(paddle_conv.list_models())'")
    references = set(list_references(args.models))
    return [n for n in names if n in references], [n for n in names if n not in references]


def run_one(name, args):
    """Compare one model; ``(ok, text)``. Raises ConfigError when it cannot run at the size given."""
    size, kwargs = model_size(name, args.size)
    x = np.random.default_rng(0).standard_normal((args.batch, 3, size, size)).astype("float32")
    try:
        torch_model, paddle_model = parity.model_pair(name, seed=1, sample=x, num_classes=args.num_classes,
                                                      **kwargs)
        report = parity.check_parity(quiet_(torch_model), quiet_(paddle_model), x, name,
                                     train_dtype=args.train_dtype)
        accept_rounding_noise_(report, args.train_dtype)
    except (RuntimeError, ValueError, AssertionError) as exc:  # a shape the model cannot take
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ConfigError(f"{name} cannot run on input [{args.batch}, 3, {size}, {size}] ({type(exc).__name__}: "
                          f"{first}); pass a larger --size or --batch") from None
    return report.ok, f"[{args.batch}, 3, {size}, {size}]", report.summary()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="*", help="shell-style pattern of model names")
    parser.add_argument("--size", type=int, default=None,
                        help=f"input height and width (default: the model's own size, at most {DEFAULT_MAX_SIZE})")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--train-dtype", default="float64", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    failed = []
    try:
        names, without = check_args(args)
        if without:
            print(f"no torch reference (not compared): {', '.join(without)}", flush=True)
        for name in names:
            start = time.time()
            ok, shape, summary = run_one(name, args)
            if not ok:
                failed.append(name)
            print(f"== {name} {shape}, train pass in {args.train_dtype} ({time.time() - start:.0f} s): "
                  f"{'ok' if ok else 'FAIL'}\n{summary}", flush=True)
    except PaddleConvError as exc:
        return print_error(exc)
    if failed:
        print(f"parity FAILED: {', '.join(failed)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
