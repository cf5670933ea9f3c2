"""Evaluate trained weights on a config's eval split; prints top-1, top-5 and loss.

    python tools/eval.py -c configs/oct_mobilenet.yaml -o Global.pretrained_model=output/oct_mobilenet/best_model
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.quiet import quiet_unless_verbose  # noqa: E402

quiet_unless_verbose(sys.argv)

from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.config import load_config  # noqa: E402
from paddle_conv.engine import evaluate  # noqa: E402
from tools.train import parse_args  # noqa: E402


def main(argv=None):
    args = parse_args(argv, description=__doc__)
    result = evaluate(load_config(args.config, args.override))
    top5 = result.get("acc_top5")
    print(f"eval on {result['dataset']}: top-1 {result['acc_top1']:.4f}  "
          f"top-5 {'n/a' if top5 is None else f'{top5:.4f}'}  loss {result['loss']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
