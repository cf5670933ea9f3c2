"""Train an SSD teacher, then a student distilled from it with MultiBoxLoss_KD (and, for
comparison, the same student without KD), from a detection YAML config.

    python tools/train_det.py -c configs/ssd_kd_shapes.yaml [-o Teacher.epochs=2 -o Global.resume=true]

Prints one summary line per stage (best VOC mAP, all-point and 11-point) and writes
``<Global.output_dir>/summary.json``. Exit status 0 on success, 2 on a bad config/data/checkpoint.
(``tools/train.py`` runs detection configs the same way.)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tools.quiet import quiet_unless_verbose  # noqa: E402

quiet_unless_verbose(sys.argv)

from paddle_conv.cli import print_error, run_cli  # noqa: E402
from paddle_conv.config import DET_SCHEMA, load_config  # noqa: E402
from paddle_conv.engine import train  # noqa: E402
from paddle_conv.errors import PaddleConvError  # noqa: E402
from tools.train import parse_args  # noqa: E402


def main(argv=None):
    args = parse_args(argv, __doc__)
    try:
        results = train(load_config(args.config, args.override, schema=DET_SCHEMA))
    except PaddleConvError as exc:
        return print_error(exc)
    print(json.dumps({k: round(v["best_mAP"], 4) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
