"""The benchmark: build every (model, batch, AMP, mode, path) step, then time them interleaved."""

import itertools
import os
import tempfile
import time

import numpy as np

from .measure import _peak_rss_mib, _reset_peak_rss, machine_info, macs_per_image
from .paths import (
    INFERENCE_ONLY,
    TorchDefaultStep,
    paddle_step,
    path_available,
    seeded_model,
    torch_reference,
    torch_step,
)
from .report import MODES, add_ratios, summarize

# default baseline of each model when both are benchmarked
DEFAULT_BASELINES = {"oct_resnet50": "resnet50", "oct_mobilenet": "mobilenet_v1",
                     "refconv_mobilenet_v1:reparameterized": "mobilenet_v1"}
AMP_PATHS = ("dygraph", "static")  # the paths where Global.use_amp's autocast applies

__all__ = ["DEFAULT_BASELINES", "MODES", "run"]


def _jobs(args):
    for batch, name, amp, mode, path in itertools.product(args.batch, args.models, args.amp, args.mode, args.paths):
        if not ((path in INFERENCE_ONLY and mode == "train") or (amp and path not in AMP_PATHS)):
            yield name, batch, amp, mode, path


def _build_step(job, model, args, workdir, device):
    """``(step, None)`` or ``(None, why it is skipped)``."""
    name, batch, amp, mode, path = job
    ok, why = path_available(path)
    if not ok:
        return None, why
    rng = np.random.default_rng(0)
    x = rng.standard_normal([batch, 3, args.size, args.size]).astype("float32")
    y = rng.integers(0, args.num_classes, [batch]).astype("int64")
    if path in ("torch", "torch-default"):
        ref = torch_reference(name, model, args.num_classes)
        if ref is None:
            return None, "no torch reference registered"
        step = torch_step(ref, mode, x, y, args.threads) if path == "torch" else \
            TorchDefaultStep(name, ref, x, workdir, args.num_classes)
        try:
            step()
        except RuntimeError as e:  # e.g. upstream's pooling needs H, W >= 64
            return None, f"the torch reference fails at this size: {str(e).splitlines()[0]}"
        return step, None
    import paddle

    return paddle_step(model, path, mode, paddle.to_tensor(x), paddle.to_tensor(y), workdir, args.threads, device,
                       amp=amp, form=args.octconv), None


def _time(step, sync):
    """``(wall s, cpu s)`` of one run of ``step``, or the times it reports itself."""
    if getattr(step, "self_timed", False):
        return step()
    w0, c0 = time.perf_counter(), time.process_time()
    step()
    sync()
    return time.perf_counter() - w0, time.process_time() - c0


def run(args, log=print):
    """Benchmark ``args`` (tools/benchmark.py) in one interleaved run; returns ``{"machine", "rows", "summary"}``."""
    import paddle

    from paddle_conv.device import available_device

    device = available_device()
    on_gpu = device == "gpu"
    paddle.set_device(device)
    info = machine_info(args, device)
    log(f"# {info['date_utc']} UTC  {info['cpu']} ({info['cpu_count']} cores), device {device}, "
        f"threads {args.threads} (OMP_WAIT_POLICY={info['omp_wait_policy']}), load average {info['load_avg_1_5_15']}")
    sync = paddle.device.cuda.synchronize if on_gpu else (lambda: None)
    jobs, models, steps, t_start = list(_jobs(args)), {}, [], time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        try:
            for i, job in enumerate(jobs, 1):
                name, batch, amp, mode, path = job
                label = f"[{i}/{len(jobs)} {time.perf_counter() - t_start:5.0f}s] {name} bs{batch} {path} {mode}" \
                        + (" amp" if amp else "")
                if name not in models:
                    model = seeded_model(name, args.num_classes)
                    models[name] = model, macs_per_image(model, args.size)
                step, why = _build_step(job, models[name][0], args, workdir, device)
                if step is None:
                    log(f"{label}: skipped ({why})")
                    continue
                _reset_peak_rss()
                for _ in range(args.warmup):
                    step()
                sync()
                peak = paddle.device.cuda.max_memory_allocated() / 2**20 if on_gpu else _peak_rss_mib()
                steps.append((job, step, peak, [], []))
                log(f"{label}: ready")
            for r in range(args.runs):
                for _, step, _, wall, cpu in steps:
                    w, c = _time(step, sync)
                    wall.append(w)
                    cpu.append(c)
                log(f"round {r + 1}/{args.runs} done, {time.perf_counter() - t_start:.0f}s, "
                    f"load average {[round(v, 2) for v in os.getloadavg()]}")
        finally:
            for _, step, *_ in steps:
                getattr(step, "close", lambda: None)()
    rows = []
    for (name, batch, amp, mode, path), _, peak, wall, cpu in steps:
        wall_ms = 1000 * np.asarray(wall)
        median = float(np.median(wall_ms))
        rows.append({"model": name, "path": path + ("+amp" if amp else ""), "mode": mode, "batch": batch,
                     "size": args.size, "amp": amp,
                     "median_ms": median, "p90_ms": float(np.percentile(wall_ms, 90)),
                     "cpu_ms": float(1000 * np.median(cpu)), "peak_mib": float(peak),
                     "images_per_s": 1000 * batch / median, "gmacs": models[name][1] / 1e9})
    add_ratios(rows, args.baselines)
    info["load_avg_1_5_15_end"] = [round(v, 2) for v in os.getloadavg()]
    return {"machine": info, "rows": rows, "summary": summarize(rows, args.baselines)}
