"""Fold a refocused (RefConv) model back into its plain form and save the plain weights.

    python tools/reparameterize.py -c configs/refconv_finetune.yaml --output output/oct_mobilenet_refconv

Loads ``--weights`` (default: the run's ``best_model``) into the refocused ``Arch``, folds every RefConv2D into a
Conv2D, checks the outputs on a random batch and writes ``<output>.pdparams``, which loads into ``Arch`` without
``refocus``. Exit status 0 on success, 2 on a bad config or checkpoint (message on stderr).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import paddle  # noqa: E402

from paddle_conv.build import build_model, run_dir  # noqa: E402
from paddle_conv.cli import print_error, run_cli  # noqa: E402
from paddle_conv.config import load_config  # noqa: E402
from paddle_conv.errors import ConfigError, PaddleConvError, WeightsError  # noqa: E402
from paddle_conv.io import atomic_paddle_save  # noqa: E402
from paddle_conv.refconv import reparameterize  # noqa: E402
from paddle_conv.state_dict import load_pretrained  # noqa: E402


def reparameterize_checkpoint(cfg, weights, output):
    """Load ``weights`` into the refocused ``cfg["Arch"]``, fold it, save ``<output>.pdparams``; returns
    ``{"path", "max_abs_diff", "relative_diff"}`` (plain vs RefConv outputs on a random batch)."""
    if not cfg["Arch"].get("refocus"):
        raise ConfigError("Arch.refocus is not set: this config has no RefConv layers to fold; "
                          "use the config the RefConv model was trained with")
    params = weights if weights.endswith(".pdparams") else weights + ".pdparams"
    if not os.path.lexists(params):  # a FIFO, a device...: refused by the reader, naming what it is
        raise WeightsError(f"{params} does not exist; pass --weights PREFIX of the RefConv checkpoint to fold "
                           "(default <Global.output_dir>/<Arch.name>/best_model), or train it first with "
                           "tools/train.py -c CONFIG")
    network = build_model(cfg["Arch"], pretrained=False)
    report = load_pretrained(network, weights)
    if report["missing"] or report["mismatched"]:
        raise WeightsError(f"{weights} is not a checkpoint of the refocused {cfg['Arch']['name']}: "
                           f"{len(report['missing'])} missing and {len(report['mismatched'])} mis-shaped "
                           f"entries (e.g. {(report['missing'] + report['mismatched'])[:3]})")
    network.eval()
    x = paddle.randn([2, *cfg["Global"]["image_shape"]])
    with paddle.no_grad():
        before = network(x).numpy()
        reparameterize(network)
        after = network(x).numpy()
    plain = build_model({**cfg["Arch"], "refocus": None}, pretrained=False)
    plain.set_state_dict(network.state_dict())
    if set(plain.state_dict()) != set(network.state_dict()):
        raise WeightsError("the folded model does not have the plain model's structure; is Arch.name right?")
    path = output + ".pdparams"
    atomic_paddle_save(network.state_dict(), path)
    diff = float(np.abs(after - before).max())
    return {"path": path, "max_abs_diff": diff, "relative_diff": diff / max(float(np.abs(before).max()), 1e-12)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-c", "--config", required=True, help="the RefConv training config")
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a config value (YAML syntax), repeatable")
    parser.add_argument("--weights", help="RefConv checkpoint (default: <output_dir>/<Arch.name>/best_model)")
    parser.add_argument("--output", required=True, help="prefix of the plain weights to write (.pdparams added)")
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config, args.override)
        weights = args.weights or os.path.join(run_dir(cfg), "best_model")
        result = reparameterize_checkpoint(cfg, weights, args.output)
    except PaddleConvError as exc:
        return print_error(exc)
    print(f"plain weights: {result['path']} (max |plain - RefConv| = {result['max_abs_diff']:.3g}, "
          f"relative {result['relative_diff']:.3g})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
