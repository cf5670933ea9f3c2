"""SSDLite (Liu et al., *SSD*, ECCV 2016; Sandler et al., CVPR 2018): depthwise-separable extra layers and
heads on any registered classifier, tapped at the requested output strides (:class:`FeatureTap`, kept by deep
copies, :func:`paddle_conv.fuse` and ``paddle.jit.save``); the priors follow SSD's scale rule.
``[N, 3, S, S] -> (loc [N, P, 4], conf [N, P, num_classes], priors [P, 4])``.
"""

import collections
import functools

import paddle
import paddle.nn as nn

from ..cards import KeyMapping, ModelCard
from ..det import num_priors_per_cell, prior_boxes
from ..errors import ConfigError
from ..factory import create_model
from ..layers.fast_conv import conv_bn_act
from ..registry import register_model
from .baselines import mobilenet_v1_renames
from .ssd300 import multibox_outputs

_PROBE = 256  # probe resolution for finding taps: every stride up to 32 divides it
_conv_bn_relu6 = functools.partial(conv_bn_act, activation=nn.ReLU6, fast=True)


def _extra_block(cin, cout):
    """1x1 reduce, depthwise 3x3 stride 2, 1x1 expand: ``[N, cin, H, W] -> [N, cout, ceil(H/2), ceil(W/2)]``."""
    mid = max(cout // 2, 8)
    return nn.Sequential(_conv_bn_relu6(cin, mid, 1), _conv_bn_relu6(mid, mid, 3, 2, groups=mid),
                         _conv_bn_relu6(mid, cout, 1))


def _head(cin, cout):
    """Separable 3x3 prediction head: depthwise 3x3 + BN + ReLU6, then a 1x1 conv with bias."""
    return nn.Sequential(_conv_bn_relu6(cin, cin, 3, groups=cin), nn.Conv2D(cin, cout, 1))


def _feature_map(output):
    """The ``[N, C, H, W]`` map of a tapped output (the high branch of an octave ``(high, None)``)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def _as_map(output):
    """A 4-D tensor from a sublayer output (octave layers return ``(high, None)`` once merged)."""
    if isinstance(output, (tuple, list)) and not (len(output) == 2 and output[1] is None):
        return None
    output = _feature_map(output)
    return output if isinstance(output, paddle.Tensor) and output.ndim == 4 else None


def find_taps(backbone, strides):
    """``[(name, channels)]`` of the sublayers of ``backbone`` giving its last feature map at each stride, found
    on a probe image; a sublayer run more than once per forward (a shared ReLU) is no tap."""
    shapes = []
    hooks = [
        layer.register_forward_post_hook(lambda _l, _i, out, name=name: shapes.append((name, _as_map(out))))
        for name, layer in backbone.named_sublayers()
    ]
    was_training = backbone.training
    backbone.eval()
    with paddle.no_grad():
        backbone(paddle.zeros([1, 3, _PROBE, _PROBE]))
    for h in hooks:
        h.remove()
    backbone.train() if was_training else backbone.eval()
    calls = collections.Counter(name for name, _ in shapes)
    taps = []
    for s in strides:
        found = [(n, m.shape[1]) for n, m in shapes if m is not None and m.shape[2] == _PROBE // s and calls[n] == 1]
        if not found:
            raise ConfigError(f"the backbone has no feature map of stride {s}; choose strides among 4, 8, 16, 32")
        taps.append(found[-1])
    return taps


class FeatureTap:
    """Mixin of a tapped sublayer: ``forward`` also keeps its output in ``tap_store["map"]`` (:func:`tap`)."""

    def forward(self, *inputs, **kwargs):
        output = self.untapped_forward(*inputs, **kwargs)
        self.tap_store["map"] = output
        return output

    def __getstate__(self):
        """A copy (``copy.deepcopy``, pickle) starts with no feature map kept from an earlier forward."""
        return {**super().__getstate__(), "tap_store": {}}


_TAPPED_CLASSES = {}


def tap(layer):
    """Make ``layer`` keep its output (its class becomes a :class:`FeatureTap` subclass of its own), once; return
    it. Its state-dict names and ``isinstance`` against the original class stay."""
    if not isinstance(layer, FeatureTap):
        cls = type(layer)
        if cls not in _TAPPED_CLASSES:
            _TAPPED_CLASSES[cls] = type(f"Tapped{cls.__name__}", (FeatureTap, cls), {"untapped_forward": cls.forward})
        layer.__class__ = _TAPPED_CLASSES[cls]
        layer.tap_store = {}
    return layer


class SSDLite(nn.Layer):
    """SSDLite detector on the registered ``backbone`` tapped at ``strides``, for square ``input_size`` inputs.

    ``num_classes`` includes the background; ``extra_channels``: one extra stride-2 map each; ``aspect_ratios``:
    per map (default ``[2]`` first and last, ``[2, 3]`` between); ``min_ratio``/``max_ratio``: prior scales.
    """

    def __init__(self, num_classes=21, backbone="mobilenet_v1", backbone_kwargs=None, input_size=300, strides=(16, 32),
                 extra_channels=(256, 128), aspect_ratios=None, min_ratio=0.2, max_ratio=0.9):
        super().__init__()
        if not 32 <= input_size <= 300:
            raise ConfigError(f"input_size={input_size}: SSDLite takes a square input of 32 to 300 pixels")
        self.num_classes, self.input_size = num_classes, input_size
        self.backbone = create_model(backbone, num_classes=1, **(backbone_kwargs or {}))
        taps = find_taps(self.backbone, strides)
        self._tap_names = [n for n, _ in taps]
        self._tap_layers()
        channels = [c for _, c in taps]
        self.extras = nn.LayerList()
        for cout in extra_channels:
            self.extras.append(_extra_block(channels[-1], cout))
            channels.append(cout)
        maps = self._map_sizes()
        n_maps = len(maps)
        if aspect_ratios is None:
            aspect_ratios = [[2]] + [[2, 3]] * max(n_maps - 2, 0) + ([[2]] if n_maps > 1 else [])
        if len(aspect_ratios) != n_maps:
            raise ConfigError(f"aspect_ratios has {len(aspect_ratios)} entries for {n_maps} feature maps")
        scales = [min_ratio + (max_ratio - min_ratio) * k / max(n_maps - 1, 1) for k in range(n_maps + 1)]
        self.prior_config = {
            "feature_maps": maps,
            "min_dim": input_size,
            "steps": [input_size / f for f in maps],
            "min_sizes": [s * input_size for s in scales[:-1]],
            "max_sizes": [min(s, 1.0) * input_size for s in scales[1:]],
            "aspect_ratios": aspect_ratios,
            "clip": True,
        }
        self.register_buffer("priors", prior_boxes(self.prior_config), persistable=False)
        anchors = [num_priors_per_cell(r) for r in aspect_ratios]
        self.loc_heads = nn.LayerList([_head(c, a * 4) for c, a in zip(channels, anchors)])
        self.conf_heads = nn.LayerList([_head(c, a * num_classes) for c, a in zip(channels, anchors)])

    @paddle.jit.not_to_static
    def _tap_layers(self):
        """The tapped sublayers of the backbone, in tap order; one swapped since (fused, reparameterized) is tapped
        anew."""
        return [tap(functools.reduce(getattr, name.split("."), self.backbone)) for name in self._tap_names]

    def _maps(self, x):
        taps = self._tap_layers()
        self.backbone(x)
        maps = [_feature_map(t.tap_store.pop("map")) for t in taps]
        for block in self.extras:
            maps.append(block(maps[-1]))
        return maps

    def _map_sizes(self):
        was_training = self.training
        self.eval()
        with paddle.no_grad():
            sizes = [m.shape[2] for m in self._maps(paddle.zeros([1, 3, self.input_size, self.input_size]))]
        self.train() if was_training else self.eval()
        return sizes

    def forward(self, x):
        if x.shape[2] != self.input_size or x.shape[3] != self.input_size:
            raise ConfigError(f"input {list(x.shape)}: this SSDLite was built for {self.input_size}x{self.input_size}")
        return multibox_outputs(self._maps(x), self.loc_heads, self.conf_heads, self.num_classes, self.priors)


#: ``create_model("ssd_lite", num_classes=..., backbone=..., ...)``: builds :class:`SSDLite`.
ssd_lite = register_model(SSDLite, name="ssd_lite", card=ModelCard(
    task="detection", input_size=(3, 300, 300), interpolation="bicubic", classifier=None, num_classes=21,
    torch_keys=KeyMapping(renames=mobilenet_v1_renames("backbone.")),  # its MobileNetV1 backbone's names
    quick_check={"kwargs": {"backbone": "tiny_cnn", "input_size": 64}, "input_size": (3, 64, 64), "fixed_size": True}))
