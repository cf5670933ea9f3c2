"""Fold inference-mode BatchNorm into the convolution in front of it (for deployment): :func:`fuse` replaces
layers offering ``reparameterize()`` by their inference form, calls every ``fuse_bn()``, then folds each
BatchNorm2D that takes a Conv2D's output into it (``W' = s W``, ``b' = s b + t``), checked against the original."""

import copy

import numpy as np
import paddle
import paddle.nn as nn

from .errors import ConfigError

__all__ = ["bn_affine", "fuse", "replace_sublayers", "reparameterize", "scale_conv"]


def replace_sublayers(model, convert):
    """Replace every sublayer ``s`` of ``model`` for which ``convert(s)`` is not None; return the count."""
    count = 0
    for parent in [model, *model.sublayers()]:
        for name, child in list(parent.named_children()):
            new = convert(child)
            if new is not None:
                setattr(parent, name, new)
                count += 1
    return count


def reparameterize(model):
    """Replace every sublayer offering ``reparameterize()`` by the inference form it returns, in place; return
    ``model`` (a refocused model gets back its plain structure and parameter count)."""
    replace_sublayers(model, lambda layer: layer.reparameterize() if hasattr(layer, "reparameterize") else None)
    return model


def bn_affine(bn):
    """``(s, t)`` as float64 arrays of an eval-mode BatchNorm2D: ``bn(x) = s x + t`` per channel."""
    if bn._data_format not in ("NCHW", "NCL", "NC"):
        raise ConfigError(f"fuse: BatchNorm2D with data_format={bn._data_format!r} is not supported; use NCHW.")
    mean = bn._mean.numpy().astype(np.float64)
    var = bn._variance.numpy().astype(np.float64)
    gamma = bn.weight.numpy().astype(np.float64) if bn.weight is not None else np.ones_like(mean)
    beta = bn.bias.numpy().astype(np.float64) if bn.bias is not None else np.zeros_like(mean)
    s = gamma / np.sqrt(var + bn._epsilon)
    return s, beta - s * mean


def scale_conv(conv, s, t):
    """Make ``conv`` compute ``s * conv(x) + t`` (``t`` None: no shift, and no bias added)."""
    weight = conv.weight.numpy().astype(np.float64)
    conv.weight.set_value((weight * s.reshape(-1, 1, 1, 1)).astype(np.float32))
    if conv.bias is None and t is None:
        return
    bias = conv.bias.numpy().astype(np.float64) if conv.bias is not None else 0.0
    if conv.bias is None:
        conv.bias = conv.create_parameter([conv.weight.shape[0]], is_bias=True)
    conv.bias.set_value((s * bias + (0.0 if t is None else t)).astype(np.float32))


def _conv_bn_pairs(model, x):
    """``[(conv, parent_of_bn, bn_name)]`` for each Conv2D whose output is a BatchNorm2D's input."""
    produced, pairs, hooks = {}, [], []
    parents = {id(child): (parent, name) for _, parent in model.named_sublayers(include_self=True)
               for name, child in parent.named_children()}

    def after_conv(layer, inputs, output):
        produced[id(output)] = (layer, output)

    def before_bn(layer, inputs):
        hit = produced.get(id(inputs[0]))
        if hit is not None and hit[1] is inputs[0]:
            pairs.append((hit[0], *parents[id(layer)]))

    for layer in model.sublayers():
        if isinstance(layer, nn.Conv2D):
            hooks.append(layer.register_forward_post_hook(after_conv))
        elif isinstance(layer, nn.BatchNorm2D):
            hooks.append(layer.register_forward_pre_hook(before_bn))
    try:
        with paddle.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return pairs


def fuse(model, input_shape=None, atol=1e-4):
    """A copy of ``model`` (left unchanged) in eval mode with every BatchNorm2D folded into its convolution.

    ``input_shape``: ``[N, C, H, W]`` of the random probe input (default ``[2, C, 64, 64]``, C the first
    Conv2D's input channels). ConfigError when the result differs by more than ``atol`` (relative).
    """
    fused = copy.deepcopy(model)
    fused.eval()
    if input_shape is None:
        first = next((layer for layer in fused.sublayers() if isinstance(layer, nn.Conv2D)), None)
        if first is None:
            raise ConfigError("fuse: the model has no Conv2D; pass input_shape=[N, C, H, W] to probe it.")
        input_shape = [2, first._in_channels, 64, 64]
    x = paddle.to_tensor(np.random.default_rng(0).standard_normal(input_shape).astype(np.float32))
    with paddle.no_grad():
        want = _flat_outputs(fused(x))
    reparameterize(fused)
    for layer in fused.sublayers():
        if hasattr(layer, "fuse_bn"):  # a layer that folds its own norms (OctConv's Conv_BN)
            layer.fuse_bn()
    for conv, parent, name in _conv_bn_pairs(fused, x):
        bn = getattr(parent, name)
        scale_conv(conv, *bn_affine(bn))
        setattr(parent, name, nn.Identity())
    with paddle.no_grad():
        got = _flat_outputs(fused(x))
    for w, g in zip(want, got):
        err = float(np.abs(w - g).max()) / max(float(np.abs(w).max()), 1e-12)
        if err > atol:
            raise ConfigError(
                f"fuse: the fused model differs from the original by {err:.2e} (relative) on a random input; "
                f"a convolution's output is probably used besides its BatchNorm. Export the unfused model."
            )
    return fused


def _flat_outputs(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out if o is not None for a in _flat_outputs(o)]
    return [out.numpy()]
