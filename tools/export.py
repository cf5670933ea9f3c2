"""Export a trained model for deployment (Paddle Inference, and ONNX with --onnx).

    python tools/export.py -c configs/oct_mobilenet.yaml -o Global.pretrained_model=output/oct_mobilenet/best_model
    python tools/export.py -c CONFIG -o Global.pretrained_model=PATH --onnx [--opset 13]
    python tools/export.py -c configs/ssd_kd_shapes.yaml [--stage student_kd] [--weights PREFIX] [--onnx]

Writes ``<Global.save_inference_dir>/inference.json`` + ``inference.pdiparams``, ``inference_config.json`` and,
with ``--onnx``, ``inference.onnx`` (a detection config: ``<Global.output_dir>/<stage>/inference/``), all or
nothing, checked on a random input against the trained model (docs/deployment.md).
Exit status 0 on success, 2 on a bad config/checkpoint or a failed conversion (message on stderr).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import paddle  # noqa: E402

from paddle_conv.cli import print_error, run_cli  # noqa: E402
from paddle_conv.config import DET_SCHEMA, STAGES, is_detection_config, load_config  # noqa: E402
from paddle_conv.deploy import Predictor  # noqa: E402
from paddle_conv.deploy.export import (  # noqa: E402
    detector_export_config,
    export_from_config,
    input_spec_shape,
    probe_shape,
)
from paddle_conv.deploy.onnx import DEFAULT_OPSET, OnnxPredictor  # noqa: E402
from paddle_conv.device import set_device  # noqa: E402
from paddle_conv.errors import ConfigError, PaddleConvError, WeightsError  # noqa: E402

#: Largest relative difference between the exported and the trained model that the check accepts.
MAX_RELATIVE_DIFF = 1e-2


def check(result, cfg):
    """Max differences on one random input: dygraph (folded) vs Paddle Inference vs ONNX Runtime."""
    x = np.random.default_rng(0).standard_normal(probe_shape(cfg)).astype("float32")
    with paddle.no_grad():
        out = result["model"](paddle.to_tensor(x))
    want = (out[0] if isinstance(out, (tuple, list)) else out).numpy()  # a detector's loc
    scale = max(float(np.abs(want).max()), 1.0)
    paddle_out = Predictor(result["prefix"], device=cfg["Global"]["device"])(x)[0]
    diffs = {"Paddle Inference vs dygraph": np.abs(paddle_out - want).max() / scale}
    if result["onnx"]:
        onnx_out = OnnxPredictor(result["onnx"])(x)[0]
        diffs["ONNX Runtime vs Paddle Inference"] = np.abs(onnx_out - paddle_out).max() / scale
    for what, diff in diffs.items():
        if not diff <= MAX_RELATIVE_DIFF:  # NaN included
            raise WeightsError(f"the exported model is wrong: {what}: max diff {diff:.2e} (relative, at most "
                               f"{MAX_RELATIVE_DIFF:g} allowed); nothing was written. Please report it as a bug "
                               "with the config")
    return [f"{what}: max diff {diff:.2e} (relative)" for what, diff in diffs.items()]


def load_export_config(args):
    """The classification config of ``args``, or the ``--stage`` part of a detection config."""
    if is_detection_config(args.config):
        det_cfg = load_config(args.config, args.override, schema=DET_SCHEMA)
        return detector_export_config(det_cfg, args.stage, args.weights)
    if args.weights is not None:  # it was silently ignored: the export held other weights than named
        raise ConfigError("--weights is for detection configs only; a classification config exports the weights of "
                          "Global.pretrained_model: pass -o Global.pretrained_model=<checkpoint prefix> instead")
    return load_config(args.config, args.override)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="the YAML config the model was trained with")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a config value, repeatable: -o Global.pretrained_model=PATH")
    parser.add_argument("--onnx", action="store_true", help="also write inference.onnx (needs the [onnx] extra)")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.add_argument("--tune", action="store_true",
                        help="time each OctConv layer's exact formulations on this machine and keep the fastest\n"
                             "(cached per machine and shape under ~/.cache/paddle_conv); default: the measured rule")
    parser.add_argument("--stage", choices=STAGES, default="student_kd",
                        help="detection config only: the stage whose detector to export (default student_kd)")
    parser.add_argument("--weights",
                        help="detection config only: checkpoint prefix (default <output_dir>/<stage>/best)")
    args = parser.parse_args(argv)
    try:
        cfg = load_export_config(args)
        cfg["Global"]["device"] = set_device(cfg["Global"]["device"])
        result = export_from_config(cfg, onnx=args.onnx, opset_version=args.opset, tune=args.tune,
                                    verify=lambda staged: check(staged, cfg))
        report = result["verified"]
    except PaddleConvError as exc:
        return print_error(exc)
    print(f"inference model: {' + '.join(result['files'])} (input {input_spec_shape(cfg)}, None = any)")
    if result["onnx"]:
        print(f"ONNX model: {result['onnx']} (opset {result['opset']})")
        if result["opset"] > args.opset:
            print(f"note: paddle2onnx raised the opset from {args.opset} to {result['opset']}: an operator of the "
                  f"model needs it (deformable convolution is ONNX DeformConv, opset 19)")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
