"""One step (inference or training) of a model on each execution path (docs/benchmarks.md describes them);
a step with ``self_timed = True`` (the child process) returns its own ``(wall s, cpu s)``."""

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
    for module in {"onnxruntime": ("onnxruntime", "paddle2onnx"), "openvino": ("openvino",)}.get(path, ()):
        if importlib.util.find_spec(module) is None:
            return False, f"{module} is not installed"
    return True, ""


def seeded_model(spec, num_classes):
    """The model ``spec`` (``NAME`` or ``NAME:reparameterized``) with seeded weights."""
    import paddle

    import paddle_conv as pc
    from paddle_conv.fuse import reparameterize

    paddle.seed(0)
    name = spec.removesuffix(REPARAMETERIZED)
    model = pc.create_model(name, num_classes=num_classes)
    return model if name == spec else reparameterize(model)


def _paddle_train_step(model, x, y, amp):
    import paddle
    import paddle.nn.functional as F

    opt = paddle.optimizer.Momentum(learning_rate=1e-3, momentum=0.9, parameters=model.parameters())
    if not amp:
        return training_step(model, x, y, None, F.cross_entropy, opt, opt.clear_grad)
    scaler = paddle.amp.GradScaler()

    def step():
        with paddle.amp.auto_cast(level="O1"):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.clear_grad()
    return step


def paddle_step(model, path, mode, x, y, workdir, threads, device, amp=False, form=None):
    """A callable running one inference or training step of ``model`` on ``path`` (not torch); ``form``: how the
    deploy paths write layers offering inference forms (:func:`paddle_conv.deploy.layer_forms.rewrite_layers`)."""
    import paddle
    from paddle.static import InputSpec

    model = copy.deepcopy(model)  # to_static converts in place and training changes the weights
    x_np = x.numpy()
    if path in ("inference", "onnxruntime", "openvino"):
        from paddle_conv.deploy import OnnxPredictor, Predictor, export

        prefix = os.path.join(workdir, f"m{id(model)}_{'x'.join(map(str, x_np.shape))}")
        result = export(model, prefix, input_shape=list(x_np.shape), onnx=path != "inference", form=form)
        if path == "inference":
            predictor = Predictor(result["prefix"], device=device, threads=threads)
        elif path == "onnxruntime":
            predictor = OnnxPredictor(result["onnx"], threads=threads)
        else:
            import openvino

            compiled = openvino.Core().compile_model(result["onnx"], "CPU", {"INFERENCE_NUM_THREADS": threads})
            return lambda: compiled([x_np])
        return lambda: predictor(x_np)
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
    return training_step(ref, xt, yt, None, torch.nn.functional.cross_entropy, opt, opt.zero_grad)


def training_step(net, x, targets, multibox_loss, cross_entropy, optimizer, clear_grad):
    """``multibox_loss`` (SSD, if not None) or ``cross_entropy`` of ``net(x)``, backward, optimizer step, clear."""
    def step():
        out = net(x)
        loss = sum(multibox_loss(out, targets)) if multibox_loss is not None else cross_entropy(out, targets)
        loss.backward()
        optimizer.step()
        clear_grad()
    return step


class TorchDefaultStep:
    """Inference of a torch reference in a child process (:mod:`.torch_worker`) with torch's default settings."""

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
        return tuple(map(float, line.split()))  # wall s, cpu s

    def close(self):
        if self._child.poll() is None:
            self._child.stdin.close()
            self._child.wait(timeout=60)
