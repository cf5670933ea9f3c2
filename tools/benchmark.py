"""Side-by-side latency benchmark of paddle_conv models over every execution path.

    python tools/benchmark.py --models resnet50,oct_resnet50,mobilenet_v1,oct_mobilenet --batch 1,8 --size 224
    python tools/benchmark.py --models resnet50,oct_resnet50 --mode train --batch 16 --runs 5
    python tools/benchmark.py --models oct_resnet26 --size 32 --runs 1 --warmup 0 --json out.json
    python tools/benchmark.py --train                       # ours/torch training-step ratios
    python tools/benchmark.py --train --models oct_mobilenet,mobilenet_v1 --paths dygraph,dygraph-1t,torch

The columns, paths and measurements: docs/benchmarks.md.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from paddle_conv.benchmark import DEFAULT_BASELINES, MODES, PATHS, format_table, run, training  # noqa: E402
from paddle_conv.layers.octconv import Formulation  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", default="",
                   help="comma-separated registered model names; NAME:reparameterized builds NAME and\n"
                        "folds its RefConv layers (paddle_conv.refconv.reparameterize); with --train,\n"
                        "a subset of the training rows (default: all)")
    p.add_argument("--paths", default=None, help=f"comma-separated subset of {','.join(PATHS)}; with --train of "
                                                 f"{','.join(training.TRAIN_PATHS)}")
    p.add_argument("--train", action="store_true",
                   help="the training benchmark: ours/torch step-time ratios of the training rows\n"
                        "(" + ", ".join(r.label for r in training.TRAIN_ROWS) + ")")
    p.add_argument("--mode", default="infer", help="infer, train or infer,train (default infer)")
    p.add_argument("--batch", default="1", help="batch sizes, comma-separated (default 1), e.g. 1,8")
    p.add_argument("--amp", default="off", help="off, on or off,on: float16 autocast on dygraph/static (default off)")
    p.add_argument("--size", type=int, default=224, help="input height and width")
    p.add_argument("--runs", type=int, default=10, help="timed rounds, one run of every step each (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs of each step before timing (default 3)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for every framework (default 2)")
    p.add_argument("--octconv", default=None,
                   help="how exported OctConv is written: rule (default), tune, layer, or a formulation\n"
                        "name such as merge_low+broadcast (paddle_conv.layers.octconv)")
    p.add_argument("--baseline", default="",
                   help="MODEL=BASELINE pairs (comma-separated), or one BASELINE for every model;\n"
                        "default: oct_resnet50=resnet50,oct_mobilenet=mobilenet_v1 where both are listed")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--json", help="also write rows, summary and machine info to this JSON file")
    args = p.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    if args.train:
        return _train_args(p, args)
    if not args.models:
        p.error("--models is required (e.g. --models resnet50,oct_resnet50), or pass --train")
    args.paths = [x for x in (args.paths or ",".join(PATHS)).split(",") if x]
    args.mode = [x for x in args.mode.split(",") if x]
    amp = [x for x in args.amp.split(",") if x]
    for kind, given, allowed in (("path", args.paths, PATHS), ("mode", args.mode, MODES), ("amp", amp, ("off", "on"))):
        bad = sorted(set(given) - set(allowed))
        if bad or not given:
            p.error(f"unknown {kind} {bad}: choose from {', '.join(allowed)}")
    args.amp = [a == "on" for a in amp]
    text = args.batch
    try:
        args.batch = [int(v) for v in text.split(",") if v]
    except ValueError:
        p.error(f"--batch {text!r}: expected comma-separated integers, e.g. 1,8")
    if not args.batch or min(args.batch) < 1:
        p.error(f"--batch {text!r}: every value must be >= 1")
    if min(args.size, args.runs, args.threads) < 1 or args.warmup < 0:
        p.error("--size, --runs and --threads must be >= 1 and --warmup >= 0")
    args.baselines = _baselines(args.baseline, args.models, p)
    try:
        if args.octconv not in (None, "rule", "tune", "layer"):
            Formulation.parse(args.octconv)
    except ValueError as exc:
        p.error(f"--octconv: {exc}")
    return args


def _train_args(p, args):
    known = [r.model for r in training.TRAIN_ROWS]
    unknown = sorted(set(args.models) - set(known))
    if unknown:
        p.error(f"--train --models {','.join(unknown)}: not a training row; choose from {','.join(known)}")
    args.rows = [r for r in training.TRAIN_ROWS if not args.models or r.model in args.models]
    args.paths = [x for x in (args.paths or ",".join(training.TRAIN_PATHS)).split(",") if x]
    bad = sorted(set(args.paths) - set(training.TRAIN_PATHS))
    if bad or not args.paths:
        p.error(f"--train --paths {bad}: choose from {', '.join(training.TRAIN_PATHS)}")
    if min(args.runs, args.threads) < 1 or args.warmup < 0:
        p.error("--runs and --threads must be >= 1 and --warmup >= 0")
    return args


def _baselines(spec, models, parser):
    if not spec:
        return {m: b for m, b in DEFAULT_BASELINES.items() if m in models and b in models}
    if "=" not in spec:
        if spec not in models:
            parser.error(f"--baseline {spec} is not among --models; add it there")
        return {m: spec for m in models if m != spec}
    pairs = dict(item.split("=", 1) for item in spec.split(",") if item)
    missing = sorted({x for pair in pairs.items() for x in pair} - set(models))
    if missing:
        parser.error(f"--baseline names {missing} that are not among --models; add them there")
    return pairs


def main(argv=None):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before paddle / torch load their math libraries
        os.environ[var] = str(args.threads)
    # idle OpenMP threads sleep instead of spinning (20x faster torch eager on a loaded machine)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    if args.train:
        result = training.run_train(args.rows, args.paths, args.runs, args.warmup, args.threads, log=log)
        info = result["machine"]
        print(f"\ntraining steps, {info['cpu']}, threads {info['threads']}, paddle {info['paddle']}, "
              f"median of {info['runs']} interleaved rounds, load average {info['load_avg_1_5_15']} at start, "
              f"{info['load_avg_1_5_15_end']} at end\n")
        print(training.format_train_table(result))
        result["depthwise"] = training.run_depthwise(runs=args.runs)
        print("\ndepthwise 3x3 convolution alone, forward + backward (Oct-MobileNetV1's, then MobileNetV1's "
              "stride-1 shapes, main command)\n")
        print(training.format_depthwise_table(result["depthwise"]))
    else:
        result = run(args, log=log)
        info = result["machine"]
        print(f"\n{info['command']}\n{info['date_utc']} UTC, {info['cpu']} ({info['cpu_count']} cores), "
              f"device {info['device']}, threads {info['threads']} (OMP_WAIT_POLICY={info['omp_wait_policy']}), "
              f"load average {info['load_avg_1_5_15']} at start, "
              f"{info['load_avg_1_5_15_end']} at end; paddle {info['paddle']}, torch {info['torch']}\n")
        print(format_table(result["rows"]))
        print("\nratio = median latency / the baseline model's on the same path, mode and batch; cpu = process CPU "
              "time\n")
        for s in result["summary"]:
            print(f"- {s['what']}: {s['ratio']:.3f} (cpu {s['cpu_ratio']:.3f}; {s['detail']})")
    if args.json:
        from paddle_conv.io import atomic_json_save

        atomic_json_save(result, args.json)
    return result


if __name__ == "__main__":
    main()
