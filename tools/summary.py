"""Print a model's card, parameters, MACs (``paddle.flops``), per-stage output shapes and the paper's figures.

    python tools/summary.py oct_resnet50                  # paper setting: 224x224, 1000 classes
    python tools/summary.py oct_mobilenet --size 32 --num-classes 10 --json
    python tools/summary.py ssd_lite --card               # the model card only (task, input, weights, ...)

Exit status 0 on success, 2 on an unknown model name (message on stderr).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddle_conv.cards import format_card  # noqa: E402
from paddle_conv.cli import print_error, run_cli  # noqa: E402
from paddle_conv.errors import PaddleConvError  # noqa: E402
from paddle_conv.factory import list_pretrained  # noqa: E402
from paddle_conv.registry import model_card  # noqa: E402
from paddle_conv.summary import format_summary, summarize  # noqa: E402


def format_weights(name):
    """One line per published weights file of ``name``: what it scores and whether it is cached."""
    lines = []
    for row in list_pretrained(name):
        metrics = ", ".join(f"{k} {v:g}%" for k, v in row["metrics"].items()) or "not published"
        where = f"cached: {row['path']}" if row["cached"] else f"not downloaded yet (goes to {row['path']})"
        lines.append(f"  pretrained={row['name']!r}: {row['dataset']}, {metrics}, {row['upstream']}; {where}")
    return "\n".join(["published weights:", *lines] if lines else ["published weights: none"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="a registered model, e.g. oct_resnet50 (see paddle_conv.list_models())")
    parser.add_argument("--size", type=int, help="input height and width (default: the paper's, else 224)")
    parser.add_argument("--num-classes", "--num_classes", dest="num_classes", type=int,
                        help="classes (default: the paper's, else 1000); --num_classes is the old spelling")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--card", action="store_true", help="print the model card only (nothing is built)")
    args = parser.parse_args(argv)
    try:
        card = model_card(args.name) if args.card else None
        info = card.to_dict() if args.card else summarize(args.name, size=args.size, num_classes=args.num_classes)
    except PaddleConvError as exc:
        return print_error(exc)
    text = format_card(args.name, card) if args.card else format_summary(info)
    print(json.dumps({**info, "pretrained": list_pretrained(args.name)}, indent=1) if args.json
          else text + "\n" + format_weights(args.name))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
