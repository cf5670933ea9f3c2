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
from paddle_conv.deploy.classify import (  # noqa: E402
    eval_transform,
    image_paths,
    load_image,
    read_class_id_map,
    topk,
)
from paddle_conv.deploy.export import INFERENCE_NAME  # noqa: E402
from paddle_conv.errors import ConfigError, DataError, PaddleConvError  # noqa: E402
from paddle_conv.notes import note_once  # noqa: E402
from paddle_conv.registry import model_card  # noqa: E402


def read_class_names(path):
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as exc:
        raise DataError(f"{path}: cannot read the class names ({exc}); one name per line") from None


def postprocess_names(post):
    """Class names from ``Infer.PostProcess.class_id_map_file`` ({id: name}); None (ids) when unset
    or missing (PaddleClas's default map lives in its source tree: a note says so)."""
    path = post.get("class_id_map_file")
    if not path:
        return None
    if not os.path.isfile(path):
        note_once("Infer.PostProcess.class_id_map_file", f"{path} does not exist here; printing class ids")
        return None
    return read_class_id_map(path, post.get("delimiter"))


def _label(names, i):
    if isinstance(names, dict):
        return names.get(i, str(i))
    return names[i] if names and i < len(names) else str(i)


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
    parser.add_argument("--topk", type=int, help="default: Infer.PostProcess.topk, else 5")
    parser.add_argument("--class_names", help="text file, one class name per line "
                        "(default: Infer.PostProcess.class_id_map_file, else class ids)")
    parser.add_argument("--device", choices=["cpu", "gpu"], help="default: gpu when Paddle sees one, else cpu")
    parser.add_argument("--threads", type=int, help="CPU math threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object per image")
    args = parser.parse_args(argv)
    try:
        refuse_detectors(args.config)
        cfg = load_config(args.config, args.override)
        refuse_detectors(args.config, cfg["Arch"]["name"])
        post = (cfg.get("Infer") or {}).get("PostProcess") or {}
        names = read_class_names(args.class_names) if args.class_names else postprocess_names(post)
        model_dir = args.model_dir or cfg["Global"]["save_inference_dir"]
        predictor = Predictor(os.path.join(model_dir, INFERENCE_NAME), device=args.device, threads=args.threads)
        k = args.topk or post.get("topk") or 5
        results = classify(predictor, image_paths(args.input), eval_transform(cfg), k)
    except PaddleConvError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    for path, ids, scores in results:
        labels = [_label(names, i) for i in ids]
        if args.json:
            print(json.dumps({"image": path, "class_ids": ids, "labels": labels, "scores": scores}))
        else:
            print(f"{path}: " + ", ".join(f"{label} ({score:.4f})" for label, score in zip(labels, scores)))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
