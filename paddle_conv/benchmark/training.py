"""Training-step benchmark (``tools/benchmark.py --train``), ours against the torch references, on the paths
``dygraph``, ``static``, ``dygraph-1t`` (Paddle's math library on one thread, as tools/train.py runs),
``paddle-kernels`` (``dygraph-1t`` with the C++ operators off: what they gain, in the same run) and ``torch``."""

import copy
import dataclasses
import importlib.util
import os
import platform
import time

import numpy as np

from ..device import cpu_model
from ..layers.native_ops import NATIVE_OPS_ENV
from .detection_step import interleaved, random_boxes
from .paths import torch_reference, training_step
from .report import fmt

__all__ = ["DEPTHWISE_SHAPES", "TRAIN_PATHS", "TRAIN_ROWS", "TrainRow", "cpu_description", "format_depthwise_table",
           "format_train_table", "run_depthwise", "run_train"]

TRAIN_PATHS = ("dygraph", "static", "torch", "dygraph-1t", "paddle-kernels")


@dataclasses.dataclass(frozen=True)
class TrainRow:
    """One benchmarked training step: a registered model at a batch and square input size."""

    model: str
    batch: int
    size: int
    num_classes: int
    detection: bool = False  # SSD: the MultiBoxLoss on random boxes instead of cross-entropy
    builder_args: tuple = ()  # extra (name, value) builder arguments, e.g. (("width", 0.25),)

    @property
    def label(self):
        return f"{self.model} bs{self.batch} {self.size}x{self.size}" + (" +MultiBoxLoss" if self.detection else "")


#: The rows of issue 25's table and their plain baselines: the main command's shape (batch 32,
#: 32x32) for the mobile models and CCT, a small batch at 224 for the Oct-ResNets, SSD300 at 2.
TRAIN_ROWS = (
    TrainRow("oct_mobilenet", 32, 32, 10),
    TrainRow("mobilenet_v1", 32, 32, 10),
    TrainRow("oct_resnet26", 8, 224, 1000),
    TrainRow("oct_resnet50", 4, 224, 1000),
    TrainRow("resnet50", 4, 224, 1000),
    TrainRow("cct_7_3x1_32", 32, 32, 10),
    TrainRow("ssd300_vgg16", 2, 300, 21, detection=True),
)


#: ``[N, C, H, W]`` inputs of Oct-MobileNetV1's 3x3 depthwise convolutions at the main command's
#: shape (batch 32, 32x32; high- and low-frequency maps), then MobileNetV1's, stride 1, padding 1.
DEPTHWISE_SHAPES = ((32, 16, 16, 16), (32, 32, 8, 8), (32, 64, 8, 8), (32, 64, 4, 4), (32, 128, 4, 4),
                    (32, 128, 2, 2), (32, 256, 2, 2), (32, 256, 1, 1), (32, 1024, 1, 1),
                    (32, 32, 16, 16), (32, 128, 8, 8), (32, 256, 4, 4), (32, 512, 2, 2))


def run_depthwise(shapes=DEPTHWISE_SHAPES, runs=5):
    """Forward + backward of a 3x3 depthwise convolution per ``[N, C, H, W]`` of ``shapes``, ours against Paddle's
    ``F.conv2d``, interleaved; rows ``{shape, form, ours_ms, paddle_ms, speedup}`` (process CPU ms)."""
    import paddle
    import paddle.nn.functional as F

    from ..layers.depthwise import depthwise_conv2d, takes_matmul_form, takes_onednn_form

    paddle.set_device("cpu")
    rows = []
    for shape in shapes:
        x = paddle.randn(shape)
        weight, bias = paddle.randn([shape[1], 1, 3, 3]), paddle.randn([shape[1]])
        times = {depthwise_conv2d: [], F.conv2d: []}
        for r in range(runs + 1):
            for fn, cpu in times.items():
                leaves = [t.detach() for t in (x, weight, bias)]
                for t in leaves:
                    t.stop_gradient = False
                c0 = time.process_time()
                fn(*leaves, padding=1, groups=shape[1]).sum().backward()
                if r:  # round 0 warms up
                    cpu.append(time.process_time() - c0)
        ours, theirs = (1000 * float(np.median(times[fn])) for fn in (depthwise_conv2d, F.conv2d))
        form = "onednn" if takes_onednn_form(x, weight, shape[1]) else "matmul" if takes_matmul_form(
            x, weight, shape[1]) else "paddle"
        rows.append({"shape": list(shape), "form": form,
                     "ours_ms": ours, "paddle_ms": theirs, "speedup": theirs / ours})
    return rows


def cpu_description():
    """The CPU's model name and its widest vector extension (AVX-512, AVX2 or neither)."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        pass
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2/AVX-512 flag"
    return f"{cpu_model() or platform.machine()} ({vector}, {os.cpu_count()} cores)"


def _paddle_step(row, model, path, x, y, threads):
    import paddle
    import paddle.nn.functional as F
    from paddle.static import InputSpec

    from ..losses import MultiBoxLoss

    if path == "static":
        model = paddle.jit.to_static(model, input_spec=[InputSpec(list(x.shape), "float32", "x")], full_graph=True)
    model.train()
    targets = [paddle.to_tensor(t) for t in y] if row.detection else paddle.to_tensor(y)
    opt = paddle.optimizer.Momentum(learning_rate=1e-3, momentum=0.9, parameters=model.parameters())
    step = training_step(model, paddle.to_tensor(x), targets, MultiBoxLoss(row.num_classes) if row.detection else None,
                         F.cross_entropy, opt, opt.clear_grad)
    if path not in ("dygraph-1t", "paddle-kernels"):
        return step

    def one_thread_step():
        paddle.base.core.set_num_threads(1)
        saved = os.environ.get(NATIVE_OPS_ENV)
        if path == "paddle-kernels":
            os.environ[NATIVE_OPS_ENV] = "0"
        try:
            step()
        finally:
            paddle.base.core.set_num_threads(threads)
            if saved is None:
                os.environ.pop(NATIVE_OPS_ENV, None)
            else:
                os.environ[NATIVE_OPS_ENV] = saved
    return one_thread_step


def _torch_step(row, model, x, y, threads):
    import torch

    from weights_bridge.references.ssd_loss_torch import MultiBoxLossReference

    ref = torch_reference(row.model, model, row.num_classes)
    torch.set_num_threads(threads)
    ref.train()
    targets = [torch.from_numpy(t) for t in y] if row.detection else torch.from_numpy(y)
    opt = torch.optim.SGD(ref.parameters(), lr=1e-3, momentum=0.9)
    return training_step(ref, torch.from_numpy(x), targets,
                         MultiBoxLossReference(row.num_classes) if row.detection else None,
                         torch.nn.functional.cross_entropy, opt, opt.zero_grad)


def run_train(rows=TRAIN_ROWS, paths=TRAIN_PATHS, runs=5, warmup=2, threads=2, log=print):
    """Time ``rows`` on ``paths``; ``{"machine", "rows", "missing"}``: per row and path the median wall and CPU ms
    and ours/torch ``ratio``, ``cpu_ratio``; ``missing``: why torch was not measured (None when it was)."""
    import paddle

    import paddle_conv as pc

    paddle.set_device("cpu")
    missing = None if importlib.util.find_spec("torch") else "torch is not installed (pip install torch)"
    paths = [p for p in paths if p != "torch" or missing is None]
    info = {"cpu": cpu_description(), "threads": threads, "paddle": paddle.__version__, "runs": runs,
            "load_avg_1_5_15": [round(v, 2) for v in os.getloadavg()]}
    log(f"# {info['cpu']}, threads {threads}, load average {info['load_avg_1_5_15']}")
    steps = {}
    for row in rows:
        paddle.seed(0)
        model = pc.create_model(row.model, num_classes=row.num_classes, **dict(row.builder_args))
        rng = np.random.default_rng(0)
        x = rng.standard_normal([row.batch, 3, row.size, row.size]).astype("float32")
        y = ([random_boxes(rng, 1 + i % 4, row.num_classes) for i in range(row.batch)] if row.detection
             else rng.integers(0, row.num_classes, [row.batch]))
        for path in paths:
            steps[(row, path)] = (_torch_step(row, model, x, y, threads) if path == "torch"
                                  else _paddle_step(row, copy.deepcopy(model), path, x, y, threads))
            log(f"{row.label} {path}: built")
    times = interleaved(steps, rounds=runs, warmup=warmup)
    info["load_avg_1_5_15_end"] = [round(v, 2) for v in os.getloadavg()]
    table = [{"row": row.label, "model": row.model, "path": path, "wall_ms": float(np.median(t["wall_ms"])),
              "cpu_ms": float(np.median(t["cpu_ms"]))} for (row, path), t in times.items()]
    torch_ms = {t["row"]: t for t in table if t["path"] == "torch"}
    for t in table:
        ref = torch_ms.get(t["row"])
        t["ratio"] = t["wall_ms"] / ref["wall_ms"] if ref and t["path"] != "torch" else None
        t["cpu_ratio"] = t["cpu_ms"] / ref["cpu_ms"] if ref and t["path"] != "torch" else None
    return {"machine": info, "rows": table, "missing": missing}


def format_depthwise_table(rows):
    """Markdown table of :func:`run_depthwise`'s rows and their total."""
    lines = ["| input [N, C, H, W] | form | ours cpu ms | Paddle's cpu ms | speedup |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['shape']} | {r['form']} | {r['ours_ms']:.2f} | {r['paddle_ms']:.2f} | {r['speedup']:.1f} |"
              for r in rows]
    ours, theirs = sum(r["ours_ms"] for r in rows), sum(r["paddle_ms"] for r in rows)
    lines.append(f"| all | | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f} |")
    return "\n".join(lines)


def format_train_table(result):
    """Markdown table of :func:`run_train`'s result, then the torch note when torch is missing."""
    lines = ["| step | path | median ms | cpu ms | ours/torch | cpu ours/torch |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {t['row']} | {t['path']} | {t['wall_ms']:.1f} | {t['cpu_ms']:.1f} | {fmt(t['ratio'], '.2f')} | "
              f"{fmt(t['cpu_ratio'], '.2f')} |" for t in result["rows"]]
    if result["missing"]:
        lines.append(f"\ntorch: missing, {result['missing']}; the ours/torch columns stay empty")
    return "\n".join(lines)
