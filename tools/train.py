"""Train a model from a PaddleClas-style YAML config (classification, or SSD distillation).

    python tools/train.py -c configs/oct_mobilenet.yaml [-o Global.epochs=3 -o Arch.alpha=0.25]
    python tools/train.py -c configs/ssd_kd_shapes.yaml          # teacher, KD student, plain student

Resume: ``-o Global.checkpoints=output/oct_mobilenet/latest``. See docs/training-and-configs.md.
Exit status 0 on success (``--check``: when it would train), 2 on a bad config/data/checkpoint or a diverged loss.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.quiet import quiet_unless_verbose  # noqa: E402

quiet_unless_verbose(sys.argv)

from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.config import DET_SCHEMA, is_detection_config, load_config  # noqa: E402
from paddle_conv.config.check import check_config  # noqa: E402
from paddle_conv.console import set_verbose  # noqa: E402
from paddle_conv.engine import train  # noqa: E402
from paddle_conv.engine.trainer import environment_notes  # noqa: E402


def parse_args(argv=None, description=__doc__):
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="YAML config, e.g. configs/oct_mobilenet.yaml")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a config value (YAML syntax), repeatable: -o Global.epochs=3")
    parser.add_argument("--verbose", action="store_true",
                        help="show everything: Paddle's warnings and each download attempt of a data set")
    if description == __doc__:
        parser.add_argument("--check", action="store_true",
                            help="report every key as implemented / warned / refused and exit without training")
    args = parser.parse_args(argv)
    set_verbose(args.verbose)
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.check:
        report = check_config(args.config, args.override, environment_notes=environment_notes)
        print(report.format(), flush=True)
        return 0 if report.ok else 2
    train(load_config(args.config, args.override, schema=DET_SCHEMA if is_detection_config(args.config) else None))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
