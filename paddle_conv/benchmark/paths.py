"""One step (inference or training) of a model on each execution path.

Paths: ``dygraph`` (eager Paddle), ``static`` (``paddle.jit.to_static``, fixed InputSpec),
``inference`` (Paddle Inference predictor over :func:`paddle_conv.deploy.export`'s files at
the benchmark's fixed shape: RefConv and BN folded, OctConv rewritten), ``onnxruntime`` (the same
export converted to ONNX, ONNX Runtime CPU), ``openvino`` (that ONNX file in OpenVINO, when
installed), ``torch`` (the torch reference with the harness settings: ``--threads`` threads,
passive OpenMP waiting) and ``torch-default`` (the same in a child process with torch's own
defaults: its thread count, no OpenMP variables).
A step with ``self_timed = True`` (the child process) returns its own ``(wall s, cpu s)``.
"""

import copy
import importlib.util
import os
import subprocess
import sys

import numpy as np

DEPLOY_PATHS = ("dygraph", "static", "inference", "onnxruntime", "openvino")
TORCH_PATHS = ("torch", "torch-default")
PATHS = DEPLOY_PATHS + TORCH_PATHS
INFERENCE_ONLY = ("inference", "onnxruntime", "openvino", "torch-default")
REPARAMETERIZED = ":reparameterized"
#: OpenMP variables the harness sets and torch's defaults leave unset
HARNESS_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "KMP_BLOCKTIME")


def path_available(path):
    """``(True, "")``, or ``(False, why)`` when the path's runtime is not installed."""
    module = {"onnxruntime": "onnxruntime", "openvino": "openvino"}.get(path)
    if module and importlib.util.find_spec(module) is None:
        return False, f"{module} is not installed"
    if path == "onnxruntime" and importlib.util.find_spec("paddle2onnx") is None:
        return False, "paddle2onnx is not installed"
    return True, ""


def seeded_model(spec, num_classes):
    """The model named ``spec`` (``NAME`` or ``NAME:reparameterized``), made by :func:`paddle_conv.create_model`
    with seeded weights (and re-parameterized for ``:reparameterized``)."""
    import paddle

    import paddle_conv as pc

    paddle.seed(0)
    name = spec[: -len(REPARAMETERIZED)] if spec.endswith(REPARAMETERIZED) else spec
    model = pc.create_model(name, num_classes=num_classes)
    if spec.endswith(REPARAMETERIZED):
        from paddle_conv.fuse import reparameterize

        model = reparameterize(model)
    return model


def _paddle_train_step(model, x, y, amp):
    import paddle
    import paddle.nn.functional as F

    opt = paddle.optimizer.Momentum(learning_rate=1e-3, momentum=0.9, parameters=model.parameters())
    scaler = paddle.amp.GradScaler() if amp else None

    def step():
        with paddle.amp.auto_cast(enable=amp, level="O1"):
            loss = F.cross_entropy(model(x), y)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        opt.clear_grad()
    return step


def _exported(model, workdir, shape, onnx, form):
    from paddle_conv.deploy.export import export

    prefix = os.path.join(workdir, f"m{id(model)}_{'x'.join(map(str, shape))}")
    return export(model, prefix, input_shape=list(shape), onnx=onnx, form=form)


def paddle_step(model, path, mode, x, y, workdir, threads, device, amp=False, form=None):
    """A callable running one inference or training step of ``model`` on ``path`` (not torch).

    ``form``: how the deploy paths write the layers offering inference forms, e.g. OctaveConv (None: the
    measured rule; ``"tune"``, ``"layer"`` for the layer's own forward, or a form name, see
    :func:`paddle_conv.deploy.export.prepare_for_export`).
    """
    import paddle
    from paddle.static import InputSpec

    model = copy.deepcopy(model)  # to_static converts in place and training changes the weights
    x_np = x.numpy()
    if path == "inference":
        from paddle_conv.deploy.inference import Predictor

        result = _exported(model, workdir, x_np.shape, False, form)
        predictor = Predictor(result["prefix"], device=device, threads=threads)
        return lambda: predictor(x_np)
    if path == "onnxruntime":
        from paddle_conv.deploy.onnx import OnnxPredictor

        predictor = OnnxPredictor(_exported(model, workdir, x_np.shape, True, form)["onnx"], threads=threads)
        return lambda: predictor(x_np)
    if path == "openvino":
        import openvino

        compiled = openvino.Core().compile_model(_exported(model, workdir, x_np.shape, True, form)["onnx"], "CPU",
                                                 {"INFERENCE_NUM_THREADS": threads})
        return lambda: compiled([x_np])
    if path == "static":
        model = paddle.jit.to_static(model, input_spec=[InputSpec(list(x.shape), "float32", "x")], full_graph=True)
    if mode == "train":
        model.train()
        return _paddle_train_step(model, x, y, amp)
    model.eval()

    def infer():
        with paddle.no_grad(), paddle.amp.auto_cast(enable=amp, level="O1"):
            model(x)
    return infer


def torch_reference(name, paddle_model, num_classes):
    """The torch reference of ``name`` holding ``paddle_model``'s weights, or None if it has none."""
    from weights_bridge.convert import paddle_to_torch
    from weights_bridge.references import create_reference, list_references

    if name not in list_references():
        return None
    ref = create_reference(name, num_classes=num_classes)
    state = paddle_to_torch(paddle_model.state_dict(), name, num_classes, torch_model=ref, paddle_model=paddle_model)
    ref.load_state_dict(state, strict=True)
    return ref


def torch_step(ref, mode, x, y, threads):
    """One step of the torch module ``ref`` on the arrays ``x``, ``y`` with ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    xt, yt = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y).astype("int64"))
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


class TorchDefaultStep:
    """Inference of a torch reference in a child process with torch's default settings.

    The child (:mod:`paddle_conv.benchmark.torch_worker`) loads the weights (``weights_only``),
    times one forward per request and answers ``wall cpu`` in seconds; :meth:`close` ends it.
    """

    self_timed = True

    def __init__(self, name, ref, x, workdir, num_classes):
        import torch

        weights = os.path.join(workdir, f"torch_{id(ref)}.pt")
        inputs = os.path.join(workdir, f"x_{id(ref)}.npy")
        torch.save(ref.state_dict(), weights)
        np.save(inputs, np.asarray(x))
        env = {k: v for k, v in os.environ.items() if k not in HARNESS_ENV}
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self._child = subprocess.Popen(
            [sys.executable, "-m", "paddle_conv.benchmark.torch_worker", name, str(num_classes), weights, inputs],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)

    def __call__(self):
        self._child.stdin.write("run\n")
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the torch worker ended (exit status {self._child.wait()})")
        wall, cpu = map(float, line.split())
        return wall, cpu

    def close(self):
        if self._child.poll() is None:
            self._child.stdin.close()
            self._child.wait(timeout=60)
