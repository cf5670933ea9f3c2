"""Classify images with an exported model (Paddle Inference: oneDNN on CPU, the GPU when present).

    python tools/infer.py -c configs/oct_mobilenet.yaml --input photo.jpg more/ [--topk 5]
    python tools/infer.py -c CONFIG --input DIR --model_dir inference/ --class_names labels.txt --json

Prints, per image, the top-k classes with softmax scores (names escaped as ``repr`` escapes them) of the
export in ``<Global.save_inference_dir>/inference`` or ``--model_dir``, preprocessed with the config's
evaluation transforms. Exit status 2 on a bad option, config, image or model, one ``error:`` line on
stderr. More: docs/tools_inputs.md.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from paddle_conv.cli import one_line, print_error, printable, run_cli  # noqa: E402
from paddle_conv.config import is_detection_config, load_config, read_yaml  # noqa: E402
from paddle_conv.config.infer_keys import MULTILABEL_POSTPROCESS  # noqa: E402
from paddle_conv.deploy import Predictor  # noqa: E402
from paddle_conv.deploy import classify as images  # noqa: E402
from paddle_conv.deploy.export import INFERENCE_NAME, read_export_config  # noqa: E402
from paddle_conv.errors import ConfigError, DataError, PaddleConvError, WeightsError, key_text  # noqa: E402
from paddle_conv.io import read_user_text  # noqa: E402
from paddle_conv.notes import note_once  # noqa: E402
from paddle_conv.registry import MODELS, model_card  # noqa: E402

#: Inputs of more images than this get a progress line on stderr every this many images.
PROGRESS_EVERY = 100


def read_class_names(path):
    """The class names in the text file ``path``, one per line."""
    text = read_user_text(path, "class map", "--class_names file")
    return [line.strip() for line in text.splitlines() if line.strip()]


def postprocess_names(post):
    """``{id: name}`` of ``Infer.PostProcess.class_id_map_file``; None (ids) when unset or missing (a note)."""
    path = post.get("class_id_map_file")
    if not path:
        return None
    if not os.path.lexists(path):
        note_once("Infer.PostProcess.class_id_map_file", f"{path} does not exist here; printing class ids")
        return None
    return images.read_class_id_map(path, post.get("delimiter"))


def _label(names, i):
    if isinstance(names, dict):
        return names.get(i, str(i))
    return names[i] if names and i < len(names) else str(i)


def check_options(args):
    """ConfigError naming the first option out of its range."""
    if args.topk is not None and args.topk < 1:
        raise ConfigError(f"--topk {args.topk}: must be at least 1")
    cores = os.cpu_count() or 1
    if args.threads is not None and not 1 <= args.threads <= cores:
        raise ConfigError(f"--threads {args.threads}: must be between 1 and {cores} (the CPU cores of this machine)")


def check_export(model_dir, cfg):
    """ConfigError when the export in ``model_dir`` is a detector's or of another ``Arch`` than ``cfg``'s."""
    meta = read_export_config(model_dir)
    if meta is None:
        return
    exported = key_text(meta["Arch"].get("name"))  # the file's text only when it is a plain name
    if meta["task"] != "classification":
        raise ConfigError(f"{model_dir} holds the export of a detector (Arch {exported}): "
                          "tools/infer.py classifies images and cannot show detections; evaluate a detector with "
                          "tools/eval_det.py -c CONFIG, run its export through paddle_conv.det.detect")
    if meta["Arch"].get("name") != cfg["Arch"]["name"]:
        raise ConfigError(f"{model_dir} holds an export of Arch {exported}, but the config's Arch is "
                          f"{cfg['Arch']['name']}: pass the config it was exported with, or --model_dir of this one")


def check_outputs(outputs, k, names, program):
    """WeightsError/ConfigError unless ``outputs`` are one ``[N, K]`` array, ``k <= K`` and ``names`` has K entries."""
    if len(outputs) != 1 or outputs[0].ndim != 2:
        raise WeightsError(f"{program} gives {len(outputs)} outputs of shapes {[list(o.shape) for o in outputs]}, "
                           "not one [N, classes] array: it is not a classifier's export (a detector gives loc, "
                           "conf, priors: run it with tools/eval_det.py); export the classifier of this config")
    classes = outputs[0].shape[1]
    if k is not None and k > classes:
        raise ConfigError(f"--topk {k}: the model has only {classes} classes; pass --topk {classes} or less")
    if isinstance(names, list) and len(names) != classes:
        raise ConfigError(f"--class_names has {len(names)} names but the model has {classes} classes; give one "
                          "name per class, in label order")


def refuse_detectors(config, arch=None):
    """ConfigError naming the tools for detectors when ``config`` is a detection config or ``arch`` (default: the
    file's ``Arch.name`` as written) a detector; checked before validation, whose other errors would hide it."""
    what = arch
    if arch is None and is_detection_config(config):
        what = "a detection config"
    else:
        if arch is None:
            section = read_yaml(config)
            section = section.get("Arch") if isinstance(section, dict) else None
            arch = section.get("name") if isinstance(section, dict) else None
            what = f"Arch {arch}"
        if not isinstance(arch, str) or arch not in MODELS or model_card(arch).task != "detection":
            return  # a DistillationModel: of classifiers
    raise ConfigError(
        f"{config}: {what}: tools/infer.py classifies images and cannot show detections; evaluate a detector "
        "with tools/eval_det.py -c CONFIG [--stage STAGE], and run its exported model (tools/export.py; outputs "
        "loc, conf, priors) through paddle_conv.det.detect"
    )


def decision(post, k):
    """``logits [N, K] -> [(class ids, scores)]`` of ``Infer.PostProcess``: Topk, ThreshOutput or multi-label."""
    name = post.get("name", "Topk")
    if name == "ThreshOutput":
        return lambda logits: images.thresh_output(logits, post["threshold"])
    if name in MULTILABEL_POSTPROCESS:
        return lambda logits: images.multilabel_output(logits, post["threshold"])
    return lambda logits: images.topk(logits, k)


def classify(predictor, paths, transform, k, batch_size=16, on_error="stop", names=None, decide=None):
    """Yield ``(path, class ids, scores, None)`` per image of ``paths``, batch by batch (``decide``: see
    :func:`decision`); a bad image yields ``(path, None, None, message)`` with ``on_error="skip"``, else its
    DataError is raised after the images before it. The outputs are checked (:func:`check_outputs`)."""
    program = getattr(predictor, "program", "the exported model")
    decide = decide or decision({}, k)
    chunk, arrays = [], []
    for i, path in enumerate(paths):
        problem = None
        try:
            arrays.append(images.load_image(path, transform))
            chunk.append(path)
        except DataError as exc:
            problem = exc
        if chunk and (problem is not None or len(chunk) == batch_size or i == len(paths) - 1):
            outputs = predictor(np.stack(arrays))
            check_outputs(outputs, k, names, program)
            for done, (ids, scores) in zip(chunk, decide(outputs[0])):
                yield done, ids, scores, None
            chunk, arrays = [], []
        if problem is not None:
            if on_error == "stop":
                raise problem
            yield path, None, None, str(problem)


def print_result(path, ids, scores, names, as_json):
    labels = [_label(names, i) for i in ids]
    if as_json:
        print(json.dumps({"image": path, "class_ids": ids, "labels": labels, "scores": scores}), flush=True)
    else:
        print(f"{printable(path)}: " + ", ".join(f"{printable(label)} ({score:.4f})"
                                                 for label, score in zip(labels, scores)), flush=True)


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
    parser.add_argument("--on-error", choices=["stop", "skip"], default="stop",
                        help="an unreadable image stops the run (default; the results so far are printed) "
                             "or is reported on stderr and skipped")
    args = parser.parse_args(argv)
    skipped = 0
    try:
        check_options(args)
        refuse_detectors(args.config)
        cfg = load_config(args.config, args.override)
        refuse_detectors(args.config, cfg["Arch"]["name"])
        post = (cfg.get("Infer") or {}).get("PostProcess") or {}
        names = read_class_names(args.class_names) if args.class_names else postprocess_names(post)
        k = args.topk or post.get("topk") or 5
        if post.get("name") in ("ThreshOutput", *MULTILABEL_POSTPROCESS) and not args.topk:
            k = None  # these choose their classes by threshold
        model_dir = args.model_dir or cfg["Global"]["save_inference_dir"]
        check_export(model_dir, cfg)
        predictor = Predictor(os.path.join(model_dir, INFERENCE_NAME), device=args.device, threads=args.threads)
        paths = images.image_paths(args.input)
        if post.get("name") == "ThreshOutput" and not args.class_names:
            names = {0: post["label_0"] or "0", 1: post["label_1"] or "1"}
        results = classify(predictor, paths, images.eval_transform(cfg), k, on_error=args.on_error, names=names,
                           decide=decision(post, k))
        for done, (path, ids, scores, problem) in enumerate(results, 1):
            if problem is None:
                print_result(path, ids, scores, names, args.json)
            else:
                print(f"warning: skipped {one_line(problem)}", file=sys.stderr, flush=True)
                skipped += 1
            if len(paths) > PROGRESS_EVERY and (done % PROGRESS_EVERY == 0 or done == len(paths)):
                print(f"{done}/{len(paths)} images", file=sys.stderr, flush=True)
        if skipped == len(paths):
            raise DataError(f"none of the {len(paths)} images could be read (see the warnings above)")
    except PaddleConvError as exc:
        return print_error(exc)
    if skipped:
        print(f"warning: {skipped} of {len(paths)} images skipped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
