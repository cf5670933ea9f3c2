"""Rewrite every OctaveConv of an inference model into an exactly equivalent, faster formulation.

:class:`~paddle_conv.layers.octconv.OctaveConv` computes four convolutions, two 2x2 average
poolings, a nearest 2x up-sampling and two additions. Equivalent formulations (outputs equal
within float32 rounding, checked at 1e-5 by the tests):

* ``merge_high`` (1x1 kernels, no groups): h2h and h2l as ONE convolution over ``x_h``, its h2l
  channels pooled afterwards. A 1x1 convolution and the 2x2 average commute exactly (each
  output is an affine function of one pixel, and the pool averages), bias included; h2l then runs
  at full resolution (4x its multiply-adds) but ``x_h`` is not pooled and one convolution runs.
* ``merge_low`` (stride 1, no groups): l2h and l2l read the same ``x_l``: ONE convolution with
  their weights concatenated, split afterwards.
* ``upsample``: how ``y_h + up(l2h)`` is computed: ``deconv`` (the layer's own static form: a
  2x2 stride-2 transposed convolution with 0/1 weights, then the addition), ``broadcast`` (the
  up-sampling folded into the addition: ``y_h`` viewed as ``[N, C, h, 2, w, 2]`` plus ``l2h`` as
  ``[N, C, h, 1, w, 1]``; needs static even sizes, else ``deconv``), ``dense`` (1x1 l2h, stride
  1, no groups: the up-sampling folded into l2h itself, ``up(conv1x1(x_l))`` computed as ONE 2x2
  stride-2 transposed convolution whose 2x2 taps all hold the 1x1 weight; each output is the
  same single dot product, so it is exact; l2h's multiply-adds grow 4x but one op and its
  layout conversions go). (``interpolate`` nearest was measured out: Paddle 3.3's oneDNN
  predictor cannot run it, see docs/benchmarks.md.)

:func:`rewrite_octconv` picks one formulation per layer: by :data:`RULE` (measured, see
``docs/benchmarks.md``) or, with ``tune=True``, by timing every candidate of that layer shape in
the Paddle Inference predictor on this machine (:mod:`paddle_conv.deploy.octconv_tune`; cached
per machine and shape). Every OctaveConv becomes an :class:`ExportOctaveConv` holding the same
(BN-folded) weights; use it after :func:`paddle_conv.fuse`, for inference only.
"""

import itertools
from dataclasses import dataclass

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..layers.octconv import OctaveConv, crop_to, downsample, upsample_to

__all__ = ["ExportOctaveConv", "Formulation", "RULE", "candidates", "rewrite_octconv"]


@dataclass(frozen=True)
class Formulation:
    """One way of computing an OctaveConv (see the module docstring)."""

    merge_high: bool = False
    merge_low: bool = False
    upsample: str = "deconv"

    @property
    def name(self):
        parts = [p for p, on in (("merge_high", self.merge_high), ("merge_low", self.merge_low)) if on]
        return "+".join(parts + [self.upsample])

    @classmethod
    def parse(cls, name):
        parts = name.split("+")
        return cls("merge_high" in parts, "merge_low" in parts, parts[-1])


UPSAMPLES = ("deconv", "broadcast", "dense")
#: The formulation used without tuning: the layer's own static form (four convolutions, 0/1
#: transposed-conv up-sampling), which measured fastest in the Paddle Inference predictor and in
#: ONNX Runtime on a 2-core AMD EPYC at batch 1 and 8 (``dense`` was within noise in the predictor
#: and slower in ONNX Runtime; docs/benchmarks.md); ``--tune`` times the others on the exporting
#: machine, where they may win.
RULE = Formulation()


def _mergeable(*convs):
    return all(c is not None and c._groups == 1 for c in convs)


def applies(conv, formulation):
    """Whether ``formulation`` can compute OctaveConv ``conv``."""
    if formulation.merge_high and not (_mergeable(conv.conv_h2h, conv.conv_h2l)
                                       and conv.conv_h2h._kernel_size == [1, 1]):
        return False
    if formulation.merge_low and not (conv.stride == 1 and _mergeable(conv.conv_l2h, conv.conv_l2l)):
        return False
    if formulation.upsample == "dense" and (formulation.merge_low or not _dense_l2h(conv)):
        return False
    return True


def _dense_l2h(conv):
    """Whether l2h + up-sampling of ``conv`` can be one dense 2x2 transposed convolution."""
    return (conv.stride == 1 and conv.conv_h2h is not None and _mergeable(conv.conv_l2h)
            and conv.conv_l2h._kernel_size == [1, 1])


def candidates(conv):
    """Every formulation that applies to ``conv``; the ones differing only in an unused part are dropped."""
    has_up = conv.conv_l2h is not None and conv.conv_h2h is not None and conv.stride == 1
    out = []
    for high, low, up in itertools.product((False, True), (False, True), UPSAMPLES if has_up else ("deconv",)):
        f = Formulation(high, low, up)
        if applies(conv, f):
            out.append(f)
    return out


def fit(conv, formulation):
    """``formulation`` with the parts that do not apply to ``conv`` switched off."""
    f = formulation
    if f.merge_high and not applies(conv, Formulation(merge_high=True)):
        f = Formulation(False, f.merge_low, f.upsample)
    if f.merge_low and not applies(conv, Formulation(merge_low=True)):
        f = Formulation(f.merge_high, False, f.upsample)
    if f.upsample == "dense" and not applies(conv, f):
        f = Formulation(f.merge_high, f.merge_low, "deconv")
    return f


def _concat_convs(first, second):
    """One Conv2D computing ``concat([first(x), second(x)], axis=1)`` (same input, kernel, padding)."""
    merged = nn.Conv2D(first._in_channels, first._out_channels + second._out_channels, first._kernel_size,
                       first._stride, first._padding, first._dilation, 1,
                       bias_attr=None if (first.bias is not None or second.bias is not None) else False)
    merged.weight.set_value(paddle.concat([first.weight, second.weight], axis=0))
    if merged.bias is not None:
        merged.bias.set_value(paddle.concat([c.bias if c.bias is not None else paddle.zeros([c._out_channels])
                                             for c in (first, second)]))
    return merged


def _add_upsampled(y_h, l2h, how):
    """``y_h + nearest_up(l2h)`` cropped to ``y_h``'s size, computed as ``how`` says."""
    if how == "deconv" or paddle.in_dynamic_mode():
        return y_h + upsample_to(l2h, y_h)
    _, c, h, w = l2h.shape
    big_h, big_w = y_h.shape[2], y_h.shape[3]
    if min(c, h, w) <= 0 or (big_h, big_w) != (2 * h, 2 * w):  # dynamic or odd sizes: crop needed
        return y_h + upsample_to(l2h, y_h)
    out = y_h.reshape([-1, c, h, 2, w, 2]) + l2h.reshape([-1, c, h, 1, w, 1])
    return out.reshape([-1, c, big_h, big_w])


class ExportOctaveConv(nn.Layer):
    """An OctaveConv's inference form computed as ``formulation``; same input and output as the layer.

    Keeps the layer's convolutions (merged ones become ``conv_high`` ``[h2h; h2l]`` and
    ``conv_low`` ``[l2h; l2l]``). Input ``x`` or ``(x_h, x_l)``; output ``(y_h, y_l)``.
    """

    def __init__(self, conv, formulation):
        super().__init__()
        if not applies(conv, formulation):
            raise ValueError(f"formulation {formulation.name} does not apply to this OctaveConv")
        self.formulation = formulation
        self.stride = conv.stride
        self.channels_out = conv.channels_out
        if formulation.merge_high:
            self.conv_high = _concat_convs(conv.conv_h2h, conv.conv_h2l)
        else:
            self.conv_h2h, self.conv_h2l = conv.conv_h2h, conv.conv_h2l
        if formulation.merge_low:
            self.conv_low = _concat_convs(conv.conv_l2h, conv.conv_l2l)
        else:
            self.conv_l2h, self.conv_l2l = conv.conv_l2h, conv.conv_l2l
        if formulation.upsample == "dense":  # [C_l_in, C_h_out, 2, 2]: the 1x1 weight in every tap
            weight = conv.conv_l2h.weight.transpose([1, 0, 2, 3]).tile([1, 1, 2, 2])
            self.l2h_dense = self.create_parameter(weight.shape, default_initializer=nn.initializer.Assign(weight))

    def forward(self, x):
        x_h, x_l = x if isinstance(x, (tuple, list)) else (x, None)
        y_h = y_l = None
        if x_h is not None:
            if self.stride == 2:
                x_h = downsample(x_h)
            if self.formulation.merge_high:
                y_h, y_l = paddle.split(self.conv_high(x_h), list(self.channels_out), axis=1)
                y_l = downsample(y_l)
            else:
                y_h = self.conv_h2h(x_h) if self.conv_h2h is not None else None
                y_l = self.conv_h2l(downsample(x_h)) if self.conv_h2l is not None else None
        if x_l is None:
            return y_h, y_l
        if self.formulation.merge_low:
            l2h, l2l = paddle.split(self.conv_low(x_l), list(self.channels_out), axis=1)
        else:
            l2l = self.conv_l2l(downsample(x_l) if self.stride == 2 else x_l) if self.conv_l2l is not None else None
            dense = self.formulation.upsample == "dense"
            l2h = self.conv_l2h(x_l) if self.conv_l2h is not None and not dense else None
        if l2l is not None:
            y_l = l2l if y_l is None else y_l + l2l
        if self.formulation.upsample == "dense":  # up(l2h) as one op; y_h exists (see _dense_l2h)
            up = F.conv2d_transpose(x_l, self.l2h_dense, self.conv_l2h.bias, stride=2)
            return y_h + crop_to(up, y_h), y_l
        if l2h is not None:
            if y_h is None:  # no high-frequency input (alpha_in = 1)
                y_h = upsample_to(l2h, None) if self.stride == 1 else l2h
            elif self.stride == 2:
                y_h = y_h + l2h
            else:
                y_h = _add_upsampled(y_h, l2h, self.formulation.upsample)
        return y_h, y_l


def _octconv_inputs(model, input_shape):
    """``{id(layer): (layer, parent, name, x_h shape, x_l shape or None)}`` for every OctaveConv,
    from one forward pass on zeros of ``input_shape``."""
    parents = {id(child): (parent, name) for _, parent in model.named_sublayers(include_self=True)
               for name, child in parent.named_children()}
    found, hooks = {}, []

    def record(layer, inputs):
        x = inputs[0]
        x_h, x_l = x if isinstance(x, (tuple, list)) else (x, None)
        found[id(layer)] = (layer, *parents[id(layer)], None if x_h is None else list(x_h.shape),
                            None if x_l is None else list(x_l.shape))

    for layer in model.sublayers():
        if isinstance(layer, OctaveConv):
            hooks.append(layer.register_forward_pre_hook(record))
    try:
        with paddle.no_grad():
            model(paddle.zeros(list(input_shape)))
    finally:
        for hook in hooks:
            hook.remove()
    return found


def rewrite_octconv(model, input_shape, choose=None):
    """Replace every OctaveConv of ``model`` (in place; eval mode, BN already folded) by an
    :class:`ExportOctaveConv`; return ``{layer path: formulation name}``.

    ``input_shape`` ``[N, C, H, W]``: the shape the model will run at (the layers' shapes are
    taken from one forward pass). ``choose(conv, x_h shape, x_l shape) -> Formulation`` picks each
    layer's formulation (default: :data:`RULE`; timed on this machine:
    :func:`paddle_conv.deploy.octconv_tune.fastest_formulation`).
    """
    if choose is None:
        def choose(conv, h_shape, l_shape):
            return fit(conv, RULE)
    names = {id(layer): name for name, layer in model.named_sublayers()}
    chosen = {}
    for layer, parent, attr, h_shape, l_shape in _octconv_inputs(model, input_shape).values():
        formulation = choose(layer, h_shape, l_shape)
        setattr(parent, attr, ExportOctaveConv(layer, formulation))
        chosen[names[id(layer)]] = formulation.name
    return chosen
