"""Model summary: card, parameters, multiply-accumulates (``paddle.flops``, which also counts norms and pooling),
per-stage output shapes and the paper's figures side by side: ``format_summary(summarize("oct_resnet50"))``."""

import builtins
import contextlib
import io

import numpy as np
import paddle
from paddle.hapi import dynamic_flops

from .cards import format_card
from .factory import create_model
from .registry import model_card


def _int_of_tensor(value, *args):
    """``int`` that also takes the one-element ``[1]`` tensors ``paddle.flops`` converts."""
    if isinstance(value, paddle.Tensor):
        return builtins.int(value.numpy().reshape(-1)[0])
    return builtins.int(value, *args)


def count_macs(model, input_shape):
    """Multiply-accumulates of one forward pass on ``input_shape`` ``[N, C, H, W]`` (``paddle.flops``, silenced).

    Also counts a single layer, and a subclass of a layer ``paddle.flops`` knows (``DepthwiseConv2D``) as that
    layer; its module's ``int`` is made tolerant of ``[1]`` tensors for the call (NumPy >= 2.4 refuses them).
    """
    target = model if list(model.children()) else paddle.nn.Sequential(model)
    known = dynamic_flops.register_hooks
    subclasses = {type(layer): next((known[base] for base in type(layer).__mro__ if base in known), None)
                  for layer in target.sublayers() if type(layer) not in known}
    dynamic_flops.int = _int_of_tensor
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return paddle.flops(target, list(input_shape), print_detail=False,
                                custom_ops={cls: count for cls, count in subclasses.items() if count})
    finally:
        del dynamic_flops.int


def _shapes(out):
    if isinstance(out, (tuple, list)):
        return [_shapes(o) for o in out]
    return None if out is None else list(out.shape)


def stage_shapes(model, input_shape):
    """``[(name, output shape)]`` of the model's top-level sublayers in call order (a tuple output: a list)."""
    seen, hooks = [], []
    for name, layer in model.named_children():
        hooks.append(layer.register_forward_post_hook(
            lambda layer, inputs, out, name=name: seen.append((name, _shapes(out)))))
    try:
        with paddle.no_grad():
            model(paddle.to_tensor(np.zeros(input_shape, np.float32)))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def summarize(name, size=None, num_classes=None, **model_kwargs):
    """Summary of the registered model ``name`` for one ``[1, 3, size, size]`` image, as a dict; ``size`` and
    ``num_classes`` default to the paper's setting, else the card's (``paper``: None for another setting)."""
    card = model_card(name)
    paper = card.paper
    size = size or (paper["size"] if paper else card.input_size[-1])
    num_classes = num_classes or (paper["num_classes"] if paper else card.num_classes)
    model = create_model(name, num_classes=num_classes, **model_kwargs)
    model.eval()
    input_shape = [1, 3, size, size]
    params = model.parameters()
    trainable = sum(int(np.prod(p.shape)) for p in params if not p.stop_gradient)
    total = sum(int(np.prod(p.shape)) for p in params) + sum(int(np.prod(b.shape)) for b in model.buffers())
    same_setting = paper and paper["size"] == size and paper["num_classes"] == num_classes and not model_kwargs
    return {
        "name": name,
        "card": card.to_dict(),
        "input_shape": input_shape,
        "num_classes": num_classes,
        "params": trainable,
        "buffers": total - trainable,
        "macs": count_macs(model, input_shape),
        "stages": stage_shapes(model, input_shape),
        "paper": dict(paper) if same_setting else None,
    }


def format_summary(info):
    """The summary as a printable text table, after the model's card."""
    lines = [format_card(info["name"], model_card(info["name"])), ""]
    lines += [f"{info['name']}  input {info['input_shape']}  classes {info['num_classes']}", "", "stage outputs:"]
    width = max((len(n) for n, _ in info["stages"]), default=5)
    lines += [f"  {n:<{width}}  {s}" for n, s in info["stages"]]
    paper = info["paper"]
    lines += ["", f"{'':<22}{'ours':>12}{'paper':>12}"]
    for key, label, unit in (("params", "parameters (trainable)", 1e6), ("macs", "MACs", 1e9)):
        ours = f"{info[key] / unit:.3f}{'M' if unit == 1e6 else 'G'}"
        theirs = f"{paper[key] / unit:.3f}{'M' if unit == 1e6 else 'G'}" if paper else "-"
        lines.append(f"{label:<22}{ours:>12}{theirs:>12}")
    lines.append(f"{'buffers (BN stats)':<22}{info['buffers'] / 1e6:>11.3f}M")
    if paper:
        lines.append(f"paper: {paper['source']}")
        ratio = info["macs"] / paper["macs"]
        lines.append(f"MACs ours/paper: {ratio:.3f} (paddle.flops also counts norms and pooling)")
    else:
        lines.append("paper: no published figure for this model and setting")
    return "\n".join(lines)
