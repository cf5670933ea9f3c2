"""Measure torch-vs-Paddle parity of registered models and print the max differences.

    python tools/parity_report.py                       # every model that has a torch reference
    python tools/parity_report.py --models "oct_resnet*" --size 64 --train-dtype float32

Per model: random weights and calibrated random BN statistics (weights_bridge.parity.model_pair),
eval outputs in float32, train-mode outputs and every gradient in ``--train-dtype``; prints the
worst max abs / max rel difference of each kind and, on failure, the first differing layer.
Exit status 1 when a model fails the tolerances (rtol 1e-4, atol 1e-4 max|y|).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.registry import list_models  # noqa: E402
from weights_bridge import list_references, parity  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="*", help="shell-style pattern of model names")
    parser.add_argument("--size", type=int, default=64, help="input height and width")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--train-dtype", default="float64", choices=["float32", "float64"])
    args = parser.parse_args(argv)
    names = sorted(set(list_models(args.models)) & set(list_references(args.models)))
    x = np.random.default_rng(0).standard_normal((args.batch, 3, args.size, args.size)).astype("float32")
    failed = 0
    for name in names:
        start = time.time()
        torch_model, paddle_model = parity.model_pair(name, seed=1, sample=x, num_classes=args.num_classes)
        report = parity.check_parity(torch_model, paddle_model, x, name, train_dtype=args.train_dtype)
        failed += not report.ok
        print(f"== {name} [{args.batch}, 3, {args.size}, {args.size}], train pass in {args.train_dtype} "
              f"({time.time() - start:.0f} s): {'ok' if report.ok else 'FAIL'}\n{report.summary()}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
