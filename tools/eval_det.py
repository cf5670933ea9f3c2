"""VOC mAP (all-point and 11-point) of a trained detector of a detection config.

    python tools/eval_det.py -c configs/ssd_kd_shapes.yaml [--stage student_kd] [--weights PREFIX]

``--stage`` (teacher | student_kd | student) picks the architecture (Teacher or Student) and, without
``--weights``, the stage's ``best`` checkpoint. Evaluates on ``DataLoader.Eval``; prints the mAPs and
the AP of every class. Exit status 0 on success, 2 on a bad config/data/checkpoint.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddle_conv.build import build_detection_dataset, build_model, stage_checkpoint, stage_mismatch_fix  # noqa: E402
from paddle_conv.cli import print_error, printable, run_cli  # noqa: E402
from paddle_conv.config import DET_SCHEMA, STAGES, load_config  # noqa: E402
from paddle_conv.engine import load_checkpoint  # noqa: E402
from paddle_conv.engine.det_trainer import check_classes, dataset_classes  # noqa: E402
from paddle_conv.errors import PaddleConvError  # noqa: E402
from paddle_conv.metrics import evaluate_map  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY.PATH=VALUE")
    parser.add_argument("--stage", choices=STAGES, default="student_kd")
    parser.add_argument("--weights", default=None, help="checkpoint prefix (default: <output_dir>/<stage>/best)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.override, schema=DET_SCHEMA)
        section = "Teacher" if args.stage == "teacher" else "Student"
        model = build_model(cfg[section]["Arch"], pretrained=False)
        dataset = build_detection_dataset(cfg["DataLoader"]["Eval"])
        check_classes(dataset, model.num_classes, "DataLoader.Eval", f"{section}.Arch")
        load_checkpoint(stage_checkpoint(cfg, args.stage, args.weights), model, fix=stage_mismatch_fix(args.stage))
        result = evaluate_map(model, dataset, cfg["Eval"], cfg["DataLoader"]["Eval"]["batch_size"])
    except PaddleConvError as exc:
        return print_error(exc)
    classes = dataset_classes(dataset)
    print(f"{args.stage}: mAP {result['mAP']:.4f} (all-point), {result['mAP_11']:.4f} (11-point), "
          f"{len(dataset)} images")
    for i, ap in enumerate(result["AP"]):
        print(f"  {printable(classes[i])}: AP {ap:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
