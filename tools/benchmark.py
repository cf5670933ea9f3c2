"""Side-by-side latency benchmark of paddle_conv models over every execution path.

    python tools/benchmark.py --models resnet50,oct_resnet50,mobilenet_v1,oct_mobilenet --batch 1 --size 224
    python tools/benchmark.py --models resnet50,oct_resnet50 --mode train --batch 16 --runs 5
    python tools/benchmark.py --models oct_resnet26 --size 32 --runs 1 --warmup 0 --json out.json

Paths (``--paths``):
  dygraph    eager Paddle (``paddle.no_grad`` for inference).
  static     ``paddle.jit.to_static`` with a fixed InputSpec.
  inference  Paddle Inference predictor over ``paddle_conv.fuse(model)`` exported at the benchmark's
             fixed input shape (oneDNN on CPU, the GPU on a GPU machine); inference mode only.
  torch      the torch reference (``weights_bridge.references``) eager, loaded with the same weights
             through ``weights_bridge.convert.paddle_to_torch``; models without a reference skip it.
Modes (``--mode``): ``infer`` (forward) and ``train`` (forward + cross-entropy backward + SGD-momentum
step on random labels).

Every row reports the median and p90 wall-clock latency over ``--runs`` timed runs after
``--warmup`` untimed ones, images/s, the median process CPU time per run (all threads; steadier
than wall time on a shared machine), the peak memory (process peak RSS during the timed runs on
CPU, peak allocated device memory on GPU), MACs per image (``paddle.flops``'s rule) and the ratio of the
latency to the baseline model's on the same path and mode. The summary then compares the fastest
Paddle path of each model with its baseline's, and with the torch reference. Compare figures only
within one run: the load of the machine (printed) moves absolute times.
"""

import argparse
import copy
import datetime
import os
import platform
import sys
import tempfile
import time

import numpy as np

PATHS = ("dygraph", "static", "inference", "torch")
PADDLE_PATHS = ("dygraph", "static", "inference")
MODES = ("infer", "train")
# default baseline of each octave model when both are benchmarked
DEFAULT_BASELINES = {"oct_resnet50": "resnet50", "oct_mobilenet": "mobilenet_v1",
                     "refconv_mobilenet_v1:reparameterized": "mobilenet_v1"}
REPARAMETERIZED = ":reparameterized"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", required=True,
                   help="comma-separated registered model names; NAME:reparameterized builds NAME and\n"
                        "folds its RefConv layers (paddle_conv.refconv.reparameterize)")
    p.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated subset of {','.join(PATHS)}")
    p.add_argument("--mode", default="infer", help="infer, train or infer,train (default infer)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=224, help="input height and width")
    p.add_argument("--runs", type=int, default=10, help="timed runs per row (default 10)")
    p.add_argument("--warmup", type=int, default=3, help="untimed runs before timing (default 3)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for every framework (default 2)")
    p.add_argument("--baseline", default="",
                   help="MODEL=BASELINE pairs (comma-separated), or one BASELINE for every model;\n"
                        "default: oct_resnet50=resnet50,oct_mobilenet=mobilenet_v1 where both are listed")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--json", help="also write rows, summary and machine info to this JSON file")
    args = p.parse_args(argv)
    args.models = [m for m in args.models.split(",") if m]
    args.paths = [x for x in args.paths.split(",") if x]
    args.mode = [x for x in args.mode.split(",") if x]
    for kind, given, allowed in (("path", args.paths, PATHS), ("mode", args.mode, MODES)):
        bad = sorted(set(given) - set(allowed))
        if bad:
            p.error(f"unknown {kind} {bad}: choose from {', '.join(allowed)}")
    if min(args.batch, args.size, args.runs, args.threads) < 1 or args.warmup < 0:
        p.error("--batch, --size, --runs and --threads must be >= 1 and --warmup >= 0")
    args.baselines = _baselines(args.baseline, args.models, p)
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


# ---------------------------------------------------------------------------------------------- measuring

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


def measure(step, runs, warmup, on_gpu=False, sync=lambda: None):
    """Run ``step`` ``warmup`` times, then time ``runs`` runs: median/p90 wall ms, median CPU ms, peak MiB."""
    import paddle

    for _ in range(warmup):
        step()
    sync()
    if on_gpu:
        paddle.device.cuda.reset_max_memory_allocated()
    _reset_peak_rss()
    wall, cpu = [], []
    for _ in range(runs):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        sync()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    peak = paddle.device.cuda.max_memory_allocated() / 2**20 if on_gpu else _peak_rss_mib()
    wall_ms = 1000 * np.asarray(wall)
    return {"median_ms": float(np.median(wall_ms)), "p90_ms": float(np.percentile(wall_ms, 90)),
            "cpu_ms": float(1000 * np.median(cpu)), "peak_mib": float(peak)}


# ---------------------------------------------------------------------------------------------- paths

def _paddle_train_step(model, x, y):
    import paddle
    import paddle.nn.functional as F

    opt = paddle.optimizer.Momentum(learning_rate=1e-3, momentum=0.9, parameters=model.parameters())

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.clear_grad()
    return step


def paddle_step(model, path, mode, x, y, workdir, threads, device):
    """A callable running one inference or training step of ``model`` on ``path``."""
    import paddle
    from paddle.static import InputSpec

    model = copy.deepcopy(model)  # to_static converts in place and training changes the weights
    if path == "inference":
        import paddle_conv as pc
        from paddle_conv.deploy.inference import Predictor, export_model

        prefix = os.path.join(workdir, f"{id(model)}")
        export_model(pc.fuse(model), prefix, input_shape=tuple(x.shape))
        predictor = Predictor(prefix, device=device, threads=threads)
        x_np = x.numpy()
        return lambda: predictor(x_np)
    if path == "static":
        model = paddle.jit.to_static(model, input_spec=[InputSpec(list(x.shape), "float32", "x")], full_graph=True)
    if mode == "train":
        model.train()
        return _paddle_train_step(model, x, y)
    model.eval()

    def infer():
        with paddle.no_grad():
            model(x)
    return infer


def torch_step(name, paddle_model, mode, x, y, threads, num_classes):
    """One step of the torch reference of ``name`` with ``paddle_model``'s weights, or None if it has none."""
    import torch

    from weights_bridge.convert import paddle_to_torch
    from weights_bridge.references import create_reference, list_references

    if name not in list_references():
        return None
    torch.set_num_threads(threads)
    ref = create_reference(name, num_classes=num_classes)
    ref.load_state_dict(paddle_to_torch(paddle_model.state_dict(), name, torch_model=ref), strict=True)
    xt, yt = torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy().astype("int64"))
    if mode == "infer":
        ref.eval()

        def infer():
            with torch.inference_mode():
                ref(xt)
        return infer
    ref.train()
    opt = torch.optim.SGD(ref.parameters(), lr=1e-3, momentum=0.9)

    def train():
        loss = torch.nn.functional.cross_entropy(ref(xt), yt)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return train


def build_model(spec, num_classes):
    """The model named ``spec`` (``NAME`` or ``NAME:reparameterized``), with seeded weights."""
    import paddle

    import paddle_conv as pc

    paddle.seed(0)
    name = spec[: -len(REPARAMETERIZED)] if spec.endswith(REPARAMETERIZED) else spec
    model = pc.create_model(name, num_classes=num_classes)
    if spec.endswith(REPARAMETERIZED):
        from paddle_conv.refconv import reparameterize

        model = reparameterize(model)
    return model


def macs_per_image(model, size):
    """Multiply-accumulates of one ``[1, 3, size, size]`` forward pass in Conv2D and Linear layers.

    This is ``paddle.flops``'s rule for those layers (output elements x input channels per group
    x kernel area); ``paddle.flops`` itself fails in Paddle 3.3.1 with NumPy 2 (it calls int() on
    1-element buffers), so the rule is applied here with forward hooks.
    """
    import paddle
    import paddle.nn as nn

    total = [0]

    def conv(layer, inputs, out):
        k = layer.weight.shape
        total[0] += int(np.prod(out.shape)) * k[1] * k[2] * k[3]

    def linear(layer, inputs, out):
        total[0] += int(np.prod(out.shape)) * layer.weight.shape[0]

    hooks = [layer.register_forward_post_hook(conv if isinstance(layer, nn.Conv2D) else linear)
             for layer in model.sublayers() if isinstance(layer, (nn.Conv2D, nn.Linear))]
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


# ---------------------------------------------------------------------------------------------- report

def machine_info(args, device):
    import paddle
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "command": "python tools/benchmark.py " + " ".join(sys.argv[1:]),
            "cpu": cpu, "cpu_count": os.cpu_count(), "threads": args.threads, "device": device,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "load_avg_1_5_15": [round(v, 2) for v in os.getloadavg()],
            "paddle": paddle.__version__, "torch": torch.__version__,
            "batch": args.batch, "size": args.size, "runs": args.runs, "warmup": args.warmup}


def add_ratios(rows, baselines):
    """Set each row's ``ratio`` (latency / its baseline's on the same path and mode) and ``cpu_ratio``."""
    index = {(r["model"], r["path"], r["mode"]): r for r in rows}
    for r in rows:
        base = index.get((baselines.get(r["model"]), r["path"], r["mode"]))
        r["baseline"] = base["model"] if base else None
        r["ratio"] = r["median_ms"] / base["median_ms"] if base else None
        r["cpu_ratio"] = r["cpu_ms"] / base["cpu_ms"] if base else None


def summarize(rows, baselines):
    """Lines comparing fastest Paddle paths (model vs baseline) and Paddle vs the torch reference."""
    def fastest(model, mode):
        cands = [r for r in rows if r["model"] == model and r["mode"] == mode and r["path"] in PADDLE_PATHS]
        return min(cands, key=lambda r: r["median_ms"]) if cands else None

    out = []
    for mode in MODES:
        for model, base in baselines.items():
            m, b = fastest(model, mode), fastest(base, mode)
            if m and b:
                out.append({"what": f"{model} / {base} {mode}, fastest Paddle path of each",
                            "ratio": m["median_ms"] / b["median_ms"], "cpu_ratio": m["cpu_ms"] / b["cpu_ms"],
                            "detail": f"{m['path']} {m['median_ms']:.1f} ms vs {b['path']} {b['median_ms']:.1f} ms"})
        for model in dict.fromkeys(r["model"] for r in rows):
            m = fastest(model, mode)
            t = next((r for r in rows if r["model"] == model and r["mode"] == mode and r["path"] == "torch"), None)
            if m and t:
                out.append({"what": f"{model} {mode}: fastest Paddle path / torch reference eager",
                            "ratio": m["median_ms"] / t["median_ms"], "cpu_ratio": m["cpu_ms"] / t["cpu_ms"],
                            "detail": f"{m['path']} {m['median_ms']:.1f} ms vs torch {t['median_ms']:.1f} ms"})
    return out


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def format_table(rows):
    head = ["model", "path", "mode", "batch", "size", "median ms", "p90 ms", "img/s", "cpu ms", "peak MiB",
            "GMACs/img", "ratio", "cpu ratio", "baseline"]
    body = [[r["model"], r["path"], r["mode"], str(r["batch"]), str(r["size"]), _fmt(r["median_ms"], ".1f"),
             _fmt(r["p90_ms"], ".1f"), _fmt(r["images_per_s"], ".1f"), _fmt(r["cpu_ms"], ".1f"),
             _fmt(r["peak_mib"], ".0f"), _fmt(r["gmacs"], ".2f"), _fmt(r["ratio"], ".3f"),
             _fmt(r["cpu_ratio"], ".3f"), r["baseline"] or "-"] for r in rows]
    widths = [max(len(c) for c in col) for col in zip(head, *body)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(head, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in body]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- main

def run(args, log=print):
    import paddle

    from paddle_conv.deploy.inference import available_device

    device = available_device()
    on_gpu = device == "gpu"
    paddle.set_device(device)
    info = machine_info(args, device)
    log(f"# {info['date_utc']} UTC  {info['cpu']} ({info['cpu_count']} cores), device {device}, "
        f"threads {args.threads} (OMP_WAIT_POLICY={info['omp_wait_policy']}), load average {info['load_avg_1_5_15']}")
    log(f"# paddle {info['paddle']}, torch {info['torch']}; {args.runs} timed runs after {args.warmup} warm-up")
    rng = np.random.default_rng(0)
    x = paddle.to_tensor(rng.standard_normal([args.batch, 3, args.size, args.size]).astype("float32"))
    y = paddle.to_tensor(rng.integers(0, args.num_classes, [args.batch]).astype("int64"))
    sync = paddle.device.cuda.synchronize if on_gpu else (lambda: None)
    jobs = [(m, mode, path) for m in args.models for mode in args.mode for path in args.paths
            if not (path == "inference" and mode == "train")]
    rows, t_start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        models = {}
        for i, (name, mode, path) in enumerate(jobs, 1):
            if name not in models:
                model = build_model(name, args.num_classes)
                models[name] = model, macs_per_image(model, args.size)
            model, macs = models[name]
            prefix = f"[{i}/{len(jobs)} {time.perf_counter() - t_start:5.0f}s] {name} {path} {mode}"
            if path == "torch":
                step = torch_step(name, model, mode, x, y, args.threads, args.num_classes)
                if step is None:
                    log(f"{prefix}: skipped (no torch reference registered)")
                    continue
                try:
                    step()
                except RuntimeError as e:  # e.g. upstream's pooling needs H, W >= 64
                    log(f"{prefix}: skipped (the torch reference fails at this size: {str(e).splitlines()[0]})")
                    continue
            else:
                step = paddle_step(model, path, mode, x, y, workdir, args.threads, device)
            stats = measure(step, args.runs, args.warmup, on_gpu and path != "torch", sync)
            rows.append({"model": name, "path": path, "mode": mode, "batch": args.batch, "size": args.size,
                         "images_per_s": 1000 * args.batch / stats["median_ms"], "gmacs": macs / 1e9, **stats})
            log(f"{prefix}: median {stats['median_ms']:.1f} ms, cpu {stats['cpu_ms']:.1f} ms")
    add_ratios(rows, args.baselines)
    info["load_avg_1_5_15_end"] = [round(v, 2) for v in os.getloadavg()]
    return {"machine": info, "rows": rows, "summary": summarize(rows, args.baselines)}


def main(argv=None):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before paddle / torch load their math libraries
        os.environ[var] = str(args.threads)
    # idle OpenMP threads sleep instead of spinning: on a loaded machine spinning threads made torch
    # eager 20x slower (4.7 s vs 0.21 s for Oct-ResNet-26 at 64x64); set the variables to override
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = run(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    info = result["machine"]
    print(f"\n{info['command']}\n{info['date_utc']} UTC, {info['cpu']} ({info['cpu_count']} cores), "
          f"device {info['device']}, threads {info['threads']} (OMP_WAIT_POLICY={info['omp_wait_policy']}), "
          f"load average {info['load_avg_1_5_15']} at start, "
          f"{info['load_avg_1_5_15_end']} at end; paddle {info['paddle']}, torch {info['torch']}\n")
    print(format_table(result["rows"]))
    print("\nratio = median latency / the baseline model's on the same path and mode; cpu = process CPU time\n")
    for s in result["summary"]:
        print(f"- {s['what']}: {s['ratio']:.3f} (cpu {s['cpu_ratio']:.3f}; {s['detail']})")
    if args.json:
        from paddle_conv.io import atomic_json_save

        atomic_json_save(result, args.json)
    return result


if __name__ == "__main__":
    main()
