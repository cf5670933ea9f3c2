"""Prove that a Paddle model computes what its torch reference computes, number for number (outputs: tensors or
nested tuples / lists / dicts of tensors, ``None`` entries included): :func:`model_pair`, :func:`check_parity`."""

import contextlib
from dataclasses import dataclass, field

import numpy as np
import paddle
import torch

from .checkpoint import to_numpy
from .convert import IDENTITY, build_paddle_skeleton, key_mapping, paddle_to_torch, plan_conversion, torch_to_paddle
from .references import create_reference

__all__ = ["Diff", "LayerDiff", "ParityReport", "check_parity", "compare", "locate_divergence", "model_pair",
           "paddle_twin", "randomize_torch_", "round_trip_mismatches", "training_curves"]

RTOL = 1e-4
ATOL_SCALE = 1e-4
#: A parameter gradient error below this fraction of the largest parameter gradient passes (zero-by-construction
#: gradients hold only rounding noise; docs/weights-bridge.md).
GRAD_FLOOR = 1e-9
_NORMS = (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)


@dataclass
class Diff:
    """Difference between one torch tensor (the reference) and its Paddle counterpart."""

    name: str
    max_abs: float
    max_rel: float
    ok: bool
    note: str = ""

    def __str__(self):
        status = "ok  " if self.ok else "FAIL"
        return f"{status} {self.name}: max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g}{self.note}"


def compare(name, reference, value, rtol=RTOL, atol_scale=ATOL_SCALE, atol=0.0):
    """Compare ``value`` (Paddle) with ``reference`` (torch), either may be None: within tolerance where
    ``|value - reference| <= max(atol_scale * max|reference|, atol) + rtol * |reference|``."""
    if reference is None or value is None:
        if reference is None and value is None:
            return Diff(name, 0.0, 0.0, True)
        shapes = ["None" if x is None else f"shape {list(np.shape(x))}" for x in (reference, value)]
        return Diff(name, float("inf"), float("inf"), False, f" (torch {shapes[0]}, paddle {shapes[1]})")
    reference, value = np.asarray(reference, dtype=np.float64), np.asarray(value, dtype=np.float64)
    if reference.shape != value.shape:
        return Diff(name, float("inf"), float("inf"), False,
                    f" (shape torch {list(reference.shape)}, paddle {list(value.shape)})")
    if reference.size == 0:
        return Diff(name, 0.0, 0.0, True)
    scale = float(np.abs(reference).max())
    err = np.abs(value - reference)
    bound = max(atol_scale * scale, atol) + rtol * np.abs(reference)
    ok = bool(np.all(err <= bound)) and bool(np.isfinite(value).all())
    max_abs = float(err.max())
    return Diff(name, max_abs, max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf")), ok)


def _leaves(out, path=""):
    """``[(path, tensor or None)]`` of a tensor or nested tuple / list / dict of tensors (other values left out)."""
    if out is None or isinstance(out, (torch.Tensor, paddle.Tensor, np.ndarray)):
        return [(path or "out", out)]
    if isinstance(out, dict):
        items = sorted(out.items())
    elif isinstance(out, (tuple, list)):
        items = list(enumerate(out))
    else:
        return []
    return [leaf for key, value in items for leaf in _leaves(value, f"{path}[{key}]")]


def flatten(out):
    """``[(path, numpy array or None)]`` of a tensor or nested tuple / list / dict of tensors."""
    return [(path, None if x is None else to_numpy(x).copy()) for path, x in _leaves(out)]


def _tensor_leaves(out):
    return [x for _, x in _leaves(out) if x is not None]


def compare_outputs(prefix, torch_out, paddle_out, rtol=RTOL, atol_scale=ATOL_SCALE):
    """One :class:`Diff` per leaf of two output structures (a structure difference fails)."""
    return _compare_leaves(prefix, flatten(torch_out), flatten(paddle_out), rtol, atol_scale)


def _compare_leaves(prefix, t_leaves, p_leaves, rtol, atol_scale):
    if [p for p, _ in t_leaves] != [p for p, _ in p_leaves]:
        return [Diff(prefix, float("inf"), float("inf"), False,
                     f" (output structure torch {[p for p, _ in t_leaves]}, paddle {[p for p, _ in p_leaves]})")]
    return [compare(prefix + path if path != "out" else prefix, t, p, rtol, atol_scale)
            for (path, t), (_, p) in zip(t_leaves, p_leaves)]


def randomize_torch_(model, seed=0, sample=None):
    """Give ``model`` random weights (rank >= 2: ``N(0, 2 / fan_in)``, else ``N(0, 0.1)``; norm weights ``U(0.5, 1.5)``)
    and BN statistics (with ``sample``: its own, perturbed, so that deep nets keep their scale) in place; returns it."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, _NORMS)
            for name, p in module.named_parameters(recurse=False):
                if not p.is_floating_point():
                    continue
                if is_norm and name == "weight":
                    p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
                elif p.dim() >= 2:
                    fan_in = max(1, p[0].numel())
                    p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            if is_norm and getattr(module, "running_mean", None) is not None:
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=gen) + 0.5)
    if sample is not None:
        _calibrate_(model, sample, gen)
    return model


def _calibrate_(model, sample, gen):
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
             and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch, exactly its statistics
    model.train()
    with torch.no_grad():
        model(*_to_framework(sample if isinstance(sample, tuple) else (sample,), "torch", False))
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
            m.num_batches_tracked.zero_()
            std = m.running_var.sqrt()
            m.running_mean.add_(torch.randn(std.shape, generator=gen) * 0.1 * std)
            m.running_var.mul_(torch.rand(std.shape, generator=gen) + 0.5)
    model.train(was_training)


def paddle_twin(torch_model, paddle_model, model=None):
    """Load ``torch_model``'s weights, converted, into ``paddle_model``; returns ``paddle_model``."""
    state = torch_to_paddle(torch_model.state_dict(), model, torch_model=torch_model, paddle_model=paddle_model)
    missing, unexpected = paddle_model.set_state_dict(state)
    assert not missing and not unexpected, (missing, unexpected)
    return paddle_model


def model_pair(name, seed=0, sample=None, **kwargs):
    """``(torch_reference, paddle_model)`` of model ``name`` with the same random weights (:func:`randomize_torch_`)."""
    torch_model = randomize_torch_(create_reference(name, **kwargs), seed, sample)
    paddle_model = build_paddle_skeleton(name, **kwargs)
    return torch_model, paddle_twin(torch_model, paddle_model, name)


def _map_arrays(x, fn):
    """``fn(numpy array)`` of every leaf of nested tuples / lists of arrays (None stays None)."""
    if isinstance(x, (tuple, list)):
        return type(x)(_map_arrays(v, fn) for v in x)
    return None if x is None else fn(np.asarray(x))


def _to_framework(x, framework, requires_grad):
    """Numpy (nested tuples / lists of) arrays -> torch or Paddle tensors (float leaves get grads)."""
    if framework == "torch":
        return _map_arrays(x, lambda a: torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f"))
    return _map_arrays(x, lambda a: paddle.to_tensor(a, stop_gradient=not (requires_grad and a.dtype.kind == "f")))


def _weighted_sum(out, weights, framework):
    terms = [(t * (torch.from_numpy(w) if framework == "torch" else paddle.to_tensor(w))).sum()
             for w, t in zip(weights, _tensor_leaves(out))]
    return sum(terms[1:], terms[0])


@dataclass
class ParityReport:
    """Result of :func:`check_parity`; ``ok`` when every :class:`Diff` is."""

    diffs: list = field(default_factory=list)
    divergence: object = None  # LayerDiff of the first differing layer, when a forward check failed

    @property
    def ok(self):
        return all(d.ok for d in self.diffs)

    def worst(self, prefix=""):
        """The Diff with the largest ``max_rel`` among those whose name starts with ``prefix``."""
        chosen = [d for d in self.diffs if d.name.startswith(prefix)]
        return max(chosen, key=lambda d: d.max_rel) if chosen else None

    def summary(self):
        lines = [f"{self.worst(g)}  [worst of {sum(d.name.startswith(g) for d in self.diffs)}]"
                 for g in ("eval", "train", "grad input", "grad param") if self.worst(g)]
        lines += [f"  {d}" for d in self.diffs if not d.ok][:20]
        if self.divergence is not None:
            lines.append(f"first differing layer: {self.divergence}")
        return "\n".join(lines)


def check_parity(torch_model, paddle_model, inputs, model=None, *, train=True, grads=True, train_dtype=None,
                 rtol=RTOL, atol_scale=ATOL_SCALE, seed=0):
    """Compare ``torch_model`` and ``paddle_model`` (holding the same weights) on ``inputs`` (an array, or a tuple of
    positional arguments, each an array or a nested tuple of arrays); ``model`` names the KeyMapping.

    ``train``: also compare train-mode outputs, ``grads``: and every float input's and parameter's gradient of a
    random weighting of them, in ``train_dtype`` (e.g. ``"float64"``: random deep nets amplify float32 rounding).
    Both models end in eval mode, weights, BN statistics and dtype restored. Returns a :class:`ParityReport`.
    """
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    report = ParityReport()
    report.diffs += compare_outputs("eval", *_run_both(torch_model, paddle_model, args, False), rtol, atol_scale)
    if train and report.ok:
        with _restored(torch_model, paddle_model, train_dtype):
            if train_dtype is not None:
                args = _map_arrays(args, lambda a: a.astype(train_dtype) if a.dtype.kind == "f" else a)
            report.diffs += _compare_train(torch_model, paddle_model, args, model, grads, rtol, atol_scale, seed)
            if not report.ok:
                report.divergence = locate_divergence(torch_model, paddle_model, args, model, train=True,
                                                      rtol=rtol, atol_scale=atol_scale)
    elif not report.ok:
        report.divergence = locate_divergence(torch_model, paddle_model, args, model, rtol=rtol, atol_scale=atol_scale)
    torch_model.eval()
    paddle_model.eval()
    return report


@contextlib.contextmanager
def _restored(torch_model, paddle_model, dtype=None):
    """Both models cast to ``dtype`` (None: kept) inside; their state dicts and dtypes restored on exit."""
    torch_state = {k: v.clone() for k, v in torch_model.state_dict().items()}
    paddle_state = {k: v.numpy() for k, v in paddle_model.state_dict().items()}
    try:
        if dtype is not None:
            torch_model.to(getattr(torch, dtype))
            paddle_model.to(dtype=dtype)
        yield
    finally:
        if dtype is not None:
            torch_model.to(next(v.dtype for v in torch_state.values() if v.is_floating_point()))
            paddle_model.to(dtype=str(next(v.dtype for v in paddle_state.values() if v.dtype.kind == "f")))
        torch_model.load_state_dict(torch_state)
        paddle_model.set_state_dict(paddle_state)


def _run_both(torch_model, paddle_model, args, train):
    """``(torch output, paddle output)`` on ``args``, without gradients, both in train or eval mode."""
    torch_model.train(train)
    if train:
        paddle_model.train()
    else:
        paddle_model.eval()
    with torch.no_grad():
        t_out = torch_model(*_to_framework(args, "torch", False))
    with paddle.no_grad():
        return t_out, paddle_model(*_to_framework(args, "paddle", False))


def _compare_train(torch_model, paddle_model, args, model, grads, rtol, atol_scale, seed):
    torch_model.train()
    paddle_model.train()
    t_args, p_args = _to_framework(args, "torch", grads), _to_framework(args, "paddle", grads)
    with torch.set_grad_enabled(grads):
        t_out = torch_model(*t_args)
    with paddle.set_grad_enabled(grads):
        p_out = paddle_model(*p_args)
    diffs = compare_outputs("train", t_out, p_out, rtol, atol_scale)
    if not grads or not all(d.ok for d in diffs):
        return diffs
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(tuple(t.shape)).astype(to_numpy(t).dtype) for t in _tensor_leaves(t_out)]
    torch_model.zero_grad()
    _weighted_sum(t_out, weights, "torch").backward()
    paddle_model.clear_gradients()
    _weighted_sum(p_out, weights, "paddle").backward()
    diffs += [compare(f"grad input {i}", _grad(t.grad), _grad(p.grad), rtol, atol_scale)
              for i, (t, p) in enumerate(zip(_tensor_leaves(t_args), _tensor_leaves(p_args))) if t.requires_grad]
    return diffs + _param_grad_diffs(torch_model, paddle_model, model, rtol, atol_scale)


def _grad(g):
    return None if g is None else to_numpy(g)


def _param_grad_diffs(torch_model, paddle_model, model, rtol, atol_scale):
    plan = plan_conversion(torch_model, key_mapping(model) if model else IDENTITY)
    by_torch = plan.by_torch_key()
    paddle_params = dict(paddle_model.named_parameters())
    grads = [np.abs(_grad(p.grad)).max() for p in torch_model.parameters() if p.grad is not None and p.numel()]
    floor = GRAD_FLOOR * float(max(grads, default=0.0))
    diffs = []
    for name, param in torch_model.named_parameters():
        entry = by_torch[name]
        t_grad = None if param.grad is None else entry.paddle_value(to_numpy(param.grad))
        p_param = paddle_params.get(entry.paddle_key)
        p_grad = None if p_param is None else _grad(p_param.grad)
        if p_grad is not None and entry.part is not None:  # this torch tensor is part of a merged one
            p_grad = p_grad[entry.part[0]:entry.part[1]]
        diffs.append(compare(f"grad param {name}", t_grad, p_grad, rtol, atol_scale, floor))
    return diffs


@dataclass
class LayerDiff:
    """The first layer whose output differs (see :func:`locate_divergence`)."""

    name: str
    call: int
    torch_type: str
    paddle_type: str
    diffs: list

    def __str__(self):
        where = repr(self.name) if self.name else "the model itself"
        call = f" (call {self.call + 1})" if self.call else ""
        details = "; ".join(str(d) for d in self.diffs if not d.ok)
        return f"{where}{call} [torch {self.torch_type} / paddle {self.paddle_type}]: {details}"


def _record(model, records):
    """Hook every layer of a torch or Paddle ``model`` to append ``(name, type, flat output)`` to ``records``."""
    def hook(name):
        def fn(layer, inputs, output):
            records.append((name, type(layer).__name__, flatten(output)))
        return fn

    if isinstance(model, torch.nn.Module):
        return [m.register_forward_hook(hook(n)) for n, m in model.named_modules()]
    return [layer.register_forward_post_hook(hook(n)) for n, layer in model.named_sublayers(include_self=True)]


def locate_divergence(torch_model, paddle_model, inputs, model=None, *, train=False, rtol=RTOL,
                      atol_scale=ATOL_SCALE):
    """The first layer (:class:`LayerDiff`, by KeyMapping name and call count, in torch's finishing order) whose
    outputs differ, or None; runs in eval mode unless ``train`` and restores no mode."""
    mapping = key_mapping(model) if model else IDENTITY
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    t_records, p_records = [], []
    handles = _record(torch_model, t_records) + _record(paddle_model, p_records)
    try:
        _run_both(torch_model, paddle_model, args, train)
    finally:
        for h in handles:
            h.remove()
    paddle_calls = {}
    for name, kind, leaves in p_records:
        paddle_calls.setdefault(name, []).append((kind, leaves))
    seen = {}
    for name, kind, leaves in t_records:
        call = seen[name] = seen.get(name, -1) + 1
        paddle_name = mapping.paddle_key(name) if name else name
        calls = paddle_calls.get(paddle_name, [])
        if call >= len(calls) or mapping.is_merged(paddle_name + ".weight"):  # a part of a merged layer
            continue
        p_kind, p_leaves = calls[call]
        diffs = _compare_leaves("output", leaves, p_leaves, rtol, atol_scale)
        if not all(d.ok for d in diffs):
            return LayerDiff(name, call, kind, p_kind, diffs)
    return None


def round_trip_mismatches(paddle_model, torch_model, model=None):
    """Keys whose value changes on Paddle -> torch -> Paddle (empty list: bit-exact round trip)."""
    original = paddle_model.state_dict()
    kwargs = dict(torch_model=torch_model, paddle_model=paddle_model)
    back = torch_to_paddle(paddle_to_torch(original, model, **kwargs), model, **kwargs)
    return [k for k, v in original.items() if k not in back or not _same_bits(v.numpy(), back[k].numpy())]


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def training_curves(torch_model, paddle_model, batches, *, lr=0.05, momentum=0.9, weight_decay=1e-4):
    """``(torch_losses, paddle_losses)`` of SGD + momentum on cross-entropy over numpy ``(x, labels)`` batches."""
    torch_model.train()
    paddle_model.train()
    t_opt = torch.optim.SGD(torch_model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    p_opt = paddle.optimizer.Momentum(learning_rate=lr, momentum=momentum, parameters=paddle_model.parameters(),
                                      weight_decay=weight_decay)
    t_losses, p_losses = [], []
    for x, y in batches:
        t_loss = torch.nn.functional.cross_entropy(torch_model(torch.from_numpy(x)), torch.from_numpy(y))
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        t_losses.append(t_loss.item())
        p_loss = paddle.nn.functional.cross_entropy(paddle_model(paddle.to_tensor(x)), paddle.to_tensor(y))
        p_opt.clear_grad()
        p_loss.backward()
        p_opt.step()
        p_losses.append(float(p_loss))
    return t_losses, p_losses
