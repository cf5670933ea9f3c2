"""Classify images with an exported model (Paddle Inference: oneDNN on CPU, the GPU when present).

    python tools/infer.py -c configs/oct_mobilenet.yaml --input photo.jpg more/ [--topk 5]
    python tools/infer.py -c CONFIG --input DIR --model_dir inference/ --class_names labels.txt --json

The model is ``<Global.save_inference_dir>/inference`` (written by tools/export.py) unless
``--model_dir`` says otherwise; images are preprocessed with the config's evaluation transforms.
Prints, per image, the top-k classes with softmax scores. Exit status 2 on a bad config, a missing
model or an unreadable image (message on stderr).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.config import is_detection_config, load_config  # noqa: E402
from paddle_conv.deploy import Predictor  # noqa: E402
from paddle_conv.deploy.classify import eval_transform, image_paths, load_image, topk  # noqa: E402
from paddle_conv.deploy.export import INFERENCE_NAME  # noqa: E402
from paddle_conv.errors import ConfigError, DataError, PaddleConvError  # noqa: E402
from paddle_conv.registry import model_card  # noqa: E402


def read_class_names(path):
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as exc:
        raise DataError(f"{path}: cannot read the class names ({exc}); one name per line") from None


def refuse_detectors(config, arch=None):
    """ConfigError naming the tools for detectors when ``config`` is a detection config, or ``arch``
    (the config's ``Arch.name``) a detector: this tool prints class scores, not boxes."""
    detector = is_detection_config(config) if arch is None else model_card(arch).task == "detection"
    if detector:
        raise ConfigError(
            f"{config}: {'Arch ' + arch if arch else 'a detection config'}: tools/infer.py classifies images and "
            "cannot show detections; evaluate a detector with tools/eval_det.py -c CONFIG [--stage STAGE], and "
            "run its exported model (tools/export.py; outputs loc, conf, priors) through paddle_conv.det.detect"
        )


def classify(predictor, paths, transform, k, batch_size=16):
    """``[(path, class ids, scores)]`` of ``paths`` run through ``predictor`` in batches."""
    results = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        logits = predictor(np.stack([load_image(p, transform) for p in chunk]))[0]
        results += [(p, ids, scores) for p, (ids, scores) in zip(chunk, topk(logits, k))]
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="the config the model was trained and exported with")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY.PATH=VALUE")
    parser.add_argument("--input", nargs="+", required=True, help="image files and/or folders of images")
    parser.add_argument("--model_dir", help="folder of the exported model (default Global.save_inference_dir)")
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--class_names", help="text file, one class name per line (default: class ids)")
    parser.add_argument("--device", choices=["cpu", "gpu"], help="default: gpu when Paddle sees one, else cpu")
    parser.add_argument("--threads", type=int, help="CPU math threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    args = parser.parse_args(argv)
    try:
        refuse_detectors(args.config)
        cfg = load_config(args.config, args.override)
        refuse_detectors(args.config, cfg["Arch"]["name"])
        names = read_class_names(args.class_names)
        model_dir = args.model_dir or cfg["Global"]["save_inference_dir"]
        predictor = Predictor(os.path.join(model_dir, INFERENCE_NAME), device=args.device, threads=args.threads)
        results = classify(predictor, image_paths(args.input), eval_transform(cfg), args.topk)
    except PaddleConvError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    for path, ids, scores in results:
        labels = [names[i] if names and i < len(names) else str(i) for i in ids]
        if args.json:
            print(json.dumps({"image": path, "class_ids": ids, "labels": labels, "scores": scores}))
        else:
            print(f"{path}: " + ", ".join(f"{label} ({score:.4f})" for label, score in zip(labels, scores)))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
