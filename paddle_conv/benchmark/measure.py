"""Peak memory, the machine's state and the multiply-adds of a model."""

import datetime
import os
import sys

import numpy as np

from ..device import cpu_model


def _reset_peak_rss():
    try:  # Linux: writing 5 resets VmHWM, the peak resident set size
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def macs_per_image(model, size):
    """Multiply-accumulates of one ``[1, 3, size, size]`` forward pass in Conv2D and Linear layers, by
    ``paddle.flops``'s rule (which itself fails in Paddle 3.3.1 with NumPy 2)."""
    import paddle
    import paddle.nn as nn

    total = [0]

    def count(layer, inputs, out):  # output elements x (input channels per group x kernel area, or inputs)
        weight = layer.weight.shape  # Conv2D [out, in / groups, kh, kw], Linear [in, out]
        total[0] += int(np.prod(out.shape)) * (int(np.prod(weight[1:])) if isinstance(layer, nn.Conv2D) else weight[0])

    hooks = [layer.register_forward_post_hook(count) for layer in model.sublayers()
             if isinstance(layer, (nn.Conv2D, nn.Linear))]
    training = model.training
    model.eval()
    try:
        with paddle.no_grad():
            model(paddle.zeros([1, 3, size, size]))
    finally:
        for hook in hooks:
            hook.remove()
        if training:
            model.train()
    return total[0]


def machine_info(args, device):
    """Date, command, CPU, threads, load average and versions: what a measurement depends on."""
    import paddle
    import torch

    return {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "command": "python tools/benchmark.py " + " ".join(sys.argv[1:]),
            "cpu": cpu_model(), "cpu_count": os.cpu_count(), "threads": args.threads, "device": device,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "load_avg_1_5_15": [round(v, 2) for v in os.getloadavg()],
            "paddle": paddle.__version__, "torch": torch.__version__,
            "batch": args.batch, "size": args.size, "runs": args.runs, "warmup": args.warmup}
