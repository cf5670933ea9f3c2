"""Write the generated Shapes detection set as a PASCAL VOC-format directory.

    python tools/make_shapes_voc.py --out data/shapes_voc [--train 400 --val 100 --test 100 --image-size 300]

Classes rectangle, ellipse, triangle, all or nothing (read by ``configs/ssd300_kd_voc.yaml``).
Exit status 0 on success, 2 on bad input.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.data.shapes import VOC_SPLITS, write_voc  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the VOC directory to create (must not exist)")
    for split, count in VOC_SPLITS.items():
        parser.add_argument(f"--{split}", type=int, default=count, help=f"images in {split} (default {count})")
    parser.add_argument("--image-size", type=int, default=300, help="image side in pixels (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; split k uses seed + k")
    parser.add_argument("--max-objects", type=int, default=4, help="1 to this many shapes per image")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    ids = write_voc(args.out, {s: getattr(args, s) for s in VOC_SPLITS}, image_size=args.image_size,
                    seed=args.seed, max_objects=args.max_objects)
    print(f"wrote {args.out}: " + ", ".join(f"{s} {len(v)}" for s, v in ids.items()))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
