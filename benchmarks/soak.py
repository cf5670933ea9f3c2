"""Soak test: train the Digits config for a wall time and report memory (RSS) growth per 1,000 steps.

    python benchmarks/soak.py                 # 30 minutes of steps (the acceptance run)
    python benchmarks/soak.py --minutes 3 -o DataLoader.Train.sampler.batch_size=32

Runs the real trainer (:func:`paddle_conv.engine.train`), with its evaluation, checkpoint
writing and VisualDL logging every epoch, into a temporary output folder. The resident set size
is sampled every ``--sample-every`` steps; growth is the least-squares slope of RSS over steps
after a warm-up (the first ``--warmup`` fraction of the samples: allocator pools, caches), in MiB
per 1,000 steps. A flat run stays within a few MiB per 1,000 steps. Not a unit test.
"""

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import paddle  # noqa: E402

from paddle_conv.config import load_config  # noqa: E402
from paddle_conv.engine import train  # noqa: E402

MIB = 1024.0 ** 2


def rss_bytes():
    """This process's resident set size now (Linux ``/proc``; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class MemorySampler(paddle.callbacks.Callback):
    """Record ``(step, seconds, rss)`` every ``every`` train steps; stop training after ``seconds``."""

    def __init__(self, seconds, every):
        super().__init__()
        self.seconds, self.every = seconds, every
        self.samples, self.step, self.start = [], 0, None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_train_batch_end(self, step, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            elapsed = time.monotonic() - self.start
            self.samples.append((self.step, elapsed, rss_bytes()))
            if elapsed >= self.seconds:
                self.model.stop_training = True  # honoured at the end of this epoch


def growth_per_1000_steps(samples, warmup):
    """Least-squares slope of RSS (MiB) over steps after the warm-up samples, per 1,000 steps."""
    kept = samples[int(len(samples) * warmup):]
    if len(kept) < 3:
        raise SystemExit(f"only {len(kept)} samples after warm-up: run longer or lower --sample-every")
    steps = np.array([s for s, _, _ in kept], dtype="float64")
    rss = np.array([r for _, _, r in kept], dtype="float64") / MIB
    slope = np.polyfit(steps, rss, 1)[0]
    return float(slope * 1000.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="wall time to train (default 30)")
    parser.add_argument("-c", "--config", default=os.path.join("configs", "digits_quick.yaml"))
    parser.add_argument("-o", "--override", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="config override, repeatable (as tools/train.py)")
    parser.add_argument("--sample-every", type=int, default=10, help="steps between RSS samples")
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the samples ignored (default 0.2)")
    parser.add_argument("--json", help="also write the result to this JSON file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="paddle_conv_soak_") as out:
        overrides = [f"Global.output_dir={out}", "Global.epochs=1000000", "Global.use_visualdl=true",
                     "Global.print_batch_step=1000000", *args.override]
        cfg = load_config(args.config, overrides)
        sampler = MemorySampler(args.minutes * 60.0, args.sample_every)
        load_before = os.getloadavg()
        train(cfg, extra_callbacks=[sampler])
        load_after = os.getloadavg()

    steps, seconds, _ = sampler.samples[-1]
    rss = [r / MIB for _, _, r in sampler.samples]
    result = {
        "config": args.config, "overrides": args.override, "steps": steps, "seconds": round(seconds, 1),
        "steps_per_second": round(steps / seconds, 2),
        "rss_first_mib": round(rss[0], 1), "rss_last_mib": round(rss[-1], 1), "rss_peak_mib": round(max(rss), 1),
        "rss_growth_mib_per_1000_steps": round(growth_per_1000_steps(sampler.samples, args.warmup), 2),
        "warmup_fraction": args.warmup, "cpu_count": os.cpu_count(),
        "loadavg_1min_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print(json.dumps(result, indent=2))
    if args.json:  # with every sample, to plot or to fit other windows
        result["samples_step_seconds_rss_mib"] = [[s, round(t, 2), round(r / MIB, 2)] for s, t, r in sampler.samples]
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
