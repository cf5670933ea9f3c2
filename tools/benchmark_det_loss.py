"""Benchmark: the batch-vectorised SSD losses against per-image loop implementations.

    python tools/benchmark_det_loss.py --batch 32 --repeats 5

Inputs: the VOC SSD300 priors (8732), 21 classes, random predictions and 1..10 random objects per
image (one image without objects). Two loop baselines: (a) the torch reference
(``weights_bridge/references/ssd_loss.py``: matching, mining and the loss image by image, like
amdegroot/ssd.pytorch's loop) and (b) the same Paddle loss called once per image (batch 1) and
re-weighted to the batch normalisation. Times are medians of ``--repeats`` runs of forward +
backward (input tensors made once,
outside the timing), measured in this one run; the ratio is loop time / vectorised time.
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
import paddle
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from paddle_conv.det import VOC_SSD300, match, pad_targets, prior_boxes  # noqa: E402
from paddle_conv.losses import MultiBoxLoss, MultiBoxLoss_KD  # noqa: E402
from weights_bridge.references.ssd_loss import MultiBoxLossKDReference, MultiBoxLossReference  # noqa: E402

NUM_CLASSES = 21


def make_inputs(batch, seed=0):
    rng = np.random.default_rng(seed)
    priors = prior_boxes(VOC_SSD300).numpy()
    p = priors.shape[0]
    targets = []
    for i in range(batch):
        n = 0 if i == 0 else 1 + i % 10
        xy = rng.uniform(0, 0.7, (n, 2))
        wh = rng.uniform(0.03, 0.5, (n, 2))
        lab = rng.integers(0, NUM_CLASSES - 1, (n, 1))
        targets.append(np.concatenate([xy, np.minimum(xy + wh, 1), lab], 1).astype("float32").reshape(n, 5))
    arrays = {
        k: rng.normal(size=(batch, p, c)).astype("float32")
        for k, c in [("loc", 4), ("conf", NUM_CLASSES), ("loc_t", 4), ("conf_t", NUM_CLASSES)]
    }
    return priors, targets, arrays


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paddle_runs(priors, targets, arrays, kd):
    pp = paddle.to_tensor(priors)
    tt = [paddle.to_tensor(t) for t in targets]
    loss = MultiBoxLoss_KD(NUM_CLASSES) if kd else MultiBoxLoss(NUM_CLASSES)

    t = {k: paddle.to_tensor(v, stop_gradient=k not in ("loc", "conf")) for k, v in arrays.items()}

    def call(idx, tgt):
        pred = (t["loc"][idx], t["conf"][idx], pp)
        return loss(pred, (t["loc_t"][idx], t["conf_t"][idx]), tgt) if kd else loss(pred, tgt)

    def vectorised():
        sum(call(slice(None), tt)).backward()

    # positives per image, counted once outside the timing, to re-weight per-image means to the batch's
    _, conf_t = match(*pad_targets(targets), pp)
    positives = (conf_t > 0).astype("int64").sum(1).numpy().tolist()
    n_all = max(sum(positives), 1)

    def loop():  # the same loss called image by image
        total = 0.0
        for i, tgt in enumerate(tt):
            if positives[i]:
                total = total + sum(call(slice(i, i + 1), [tgt])) * positives[i]
        (total / n_all).backward()

    return vectorised, loop


def torch_loop(priors, targets, arrays, kd):
    tp = torch.tensor(priors)
    tt = [torch.tensor(t) for t in targets]
    loss = MultiBoxLossKDReference(NUM_CLASSES) if kd else MultiBoxLossReference(NUM_CLASSES)

    t = {k: torch.tensor(v, requires_grad=k in ("loc", "conf")) for k, v in arrays.items()}

    def run():
        pred = (t["loc"], t["conf"], tp)
        out = loss(pred, (t["loc_t"], t["conf_t"]), tt) if kd else loss(pred, tt)
        sum(out).backward()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (Paddle CPU uses 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    priors, targets, arrays = make_inputs(args.batch)
    print(
        f"batch {args.batch}, {priors.shape[0]} priors, {NUM_CLASSES} classes, forward+backward, "
        f"median of {args.repeats}; load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'loss':<16}{'vectorised ms':>15}{'torch loop ms':>15}{'paddle loop ms':>16}"
        f"{'x torch':>9}{'x paddle':>10}"
    )
    for name, kd in [("MultiBoxLoss", False), ("MultiBoxLoss_KD", True)]:
        vec, ploop = paddle_runs(priors, targets, arrays, kd)
        t_vec = median_time(vec, args.repeats)
        t_torch = median_time(torch_loop(priors, targets, arrays, kd), args.repeats)
        t_ploop = median_time(ploop, args.repeats)
        print(
            f"{name:<16}{t_vec * 1e3:>15.1f}{t_torch * 1e3:>15.1f}{t_ploop * 1e3:>16.1f}"
            f"{t_torch / t_vec:>9.1f}{t_ploop / t_vec:>10.1f}"
        )


if __name__ == "__main__":
    main()
