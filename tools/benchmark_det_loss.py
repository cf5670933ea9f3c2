"""Benchmark: the batch-vectorised SSD losses against per-image loop implementations.

    python tools/benchmark_det_loss.py --batch 32 --repeats 5

``vectorised`` (``paddle_conv.losses.MultiBoxLoss`` / ``MultiBoxLoss_KD`` on the whole batch), ``torch loop`` (the
torch reference, image by image) and ``paddle loop`` (the Paddle loss once per image), forward + backward, timed
in interleaved rounds on the VOC SSD300 priors with random predictions and boxes (docs/benchmarks.md).
"""

import argparse
import os
import statistics
import sys

import numpy as np
import paddle
import threadpoolctl
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from paddle_conv.benchmark.detection_step import interleaved  # noqa: E402
from paddle_conv.cli import run_cli  # noqa: E402
from paddle_conv.det import VOC_SSD300, match, pad_targets, prior_boxes  # noqa: E402
from paddle_conv.losses import MultiBoxLoss, MultiBoxLoss_KD  # noqa: E402
from weights_bridge.references.ssd_loss_torch import MultiBoxLossKDReference, MultiBoxLossReference  # noqa: E402

NUM_CLASSES = 21
IMPLEMENTATIONS = ("vectorised", "torch loop", "paddle loop")


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
    arrays = {k: rng.normal(size=(batch, p, c)).astype("float32")
              for k, c in [("loc", 4), ("conf", NUM_CLASSES), ("loc_t", 4), ("conf_t", NUM_CLASSES)]}
    return priors, targets, arrays


def paddle_runs(priors, targets, arrays, kd):
    """``(vectorised, loop)``: callables doing forward + backward of the Paddle loss."""
    pp = paddle.to_tensor(priors)
    tt = [paddle.to_tensor(t) for t in targets]
    loss = MultiBoxLoss_KD(NUM_CLASSES) if kd else MultiBoxLoss(NUM_CLASSES)
    t = {k: paddle.to_tensor(v, stop_gradient=k not in ("loc", "conf")) for k, v in arrays.items()}

    def call(tensors, tgt):
        pred = (tensors["loc"], tensors["conf"], pp)
        return loss(pred, (tensors["loc_t"], tensors["conf_t"]), tgt) if kd else loss(pred, tgt)

    def vectorised():
        sum(call(t, tt)).backward()

    # positives per image, counted once outside the timing, to re-weight per-image means to the batch's
    _, conf_t = match(*pad_targets(targets), pp)
    positives = (conf_t > 0).astype("int64").sum(1).numpy().tolist()
    n_all = max(sum(positives), 1)

    def loop():  # the same loss called image by image
        total = 0.0
        for i, tgt in enumerate(tt):
            if positives[i]:
                total = total + sum(call({k: v[i : i + 1] for k, v in t.items()}, [tgt])) * positives[i]
        (total / n_all).backward()

    def clear():
        for k in ("loc", "conf"):
            t[k].clear_gradient(set_to_zero=False)

    return vectorised, loop, clear


def torch_loop(priors, targets, arrays, kd):
    """The per-image torch reference: ``(run, clear)``."""
    tp = torch.tensor(priors)
    tt = [torch.tensor(t) for t in targets]
    loss = MultiBoxLossKDReference(NUM_CLASSES) if kd else MultiBoxLossReference(NUM_CLASSES)
    t = {k: torch.tensor(v, requires_grad=k in ("loc", "conf")) for k, v in arrays.items()}

    def run():
        pred = (t["loc"], t["conf"], tp)
        out = loss(pred, (t["loc_t"], t["conf_t"]), tt) if kd else loss(pred, tt)
        sum(out).backward()

    def clear():
        for k in ("loc", "conf"):
            t[k].grad = None

    return run, clear


def benchmark(batch=32, repeats=5, kinds=(("MultiBoxLoss", False), ("MultiBoxLoss_KD", True))):
    """Rows ``{loss, implementation, wall_ms, cpu_ms, x_wall, x_cpu}``; x = its time / vectorised's."""
    priors, targets, arrays = make_inputs(batch)
    rows = []
    for loss, kd in kinds:
        vec, ploop, pclear = paddle_runs(priors, targets, arrays, kd)
        runs = dict(zip(IMPLEMENTATIONS, [(vec, pclear), torch_loop(priors, targets, arrays, kd), (ploop, pclear)]))
        times = interleaved({name: fn for name, (fn, _) in runs.items()}, rounds=repeats, warmup=1,
                            before={name: clear for name, (_, clear) in runs.items()})  # gradients cleared, untimed
        medians = {name: (statistics.median(t["wall_ms"]), statistics.median(t["cpu_ms"])) for name, t in times.items()}
        base_wall, base_cpu = medians["vectorised"]
        for name, (wall, cpu) in medians.items():
            rows.append(dict(loss=loss, implementation=name, wall_ms=wall, cpu_ms=cpu,
                             x_wall=wall / base_wall, x_cpu=cpu / base_cpu))
    return rows


def format_table(rows):
    lines = ["| loss | implementation | wall ms | cpu ms | x wall | x cpu |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['loss']} | {r['implementation']} | {r['wall_ms']:.1f} | {r['cpu_ms']:.1f} | "
              f"{r['x_wall']:.1f} | {r['x_cpu']:.1f} |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds after one warm-up round")
    parser.add_argument("--threads", type=int, default=1, help="threads of torch, Paddle and NumPy alike")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--batch, --repeats and --threads must be >= 1")
    torch.set_num_threads(args.threads)
    paddle.base.core.set_num_threads(args.threads)
    with threadpoolctl.threadpool_limits(args.threads):
        load = os.getloadavg()[0]
        rows = benchmark(args.batch, args.repeats)
    print(
        f"SSD losses, batch {args.batch}, 8732 priors, {NUM_CLASSES} classes, forward + backward; medians of "
        f"{args.repeats} interleaved rounds after a warm-up; {args.threads} thread(s) each for torch, Paddle "
        f"and NumPy; load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end. "
        f"x = loop time / vectorised time."
    )
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    sys.exit(run_cli(main))
