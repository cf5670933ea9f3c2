"""PyTorch reference of SSDLite, paddle_conv's own detector: ``backbone`` (a reference classifier), ``extras.i``,
``loc_heads.i``, ``conf_heads.i``; ``[N, 3, S, S] -> (loc [N, P, 4], conf [N, P, num_classes], priors [P, 4])``."""

import itertools
import math

import torch
import torch.nn as nn

from paddle_conv.registry import REFERENCES, register_reference

from .mobilenet_v2_torch import conv_norm_act

__all__ = ["SSDLite", "ssd_lite"]

#: backbone name -> its sequence of blocks, each with a known output stride (``stride_of``)
BACKBONE_BLOCKS = {"mobilenet_v1": "features", "tiny_cnn": "stages"}


def _extra(cin, cout):
    mid = max(cout // 2, 8)
    return nn.Sequential(conv_norm_act(cin, mid, 1), conv_norm_act(mid, mid, 3, 2, groups=mid),
                         conv_norm_act(mid, cout, 1))


def _head(cin, cout):
    return nn.Sequential(conv_norm_act(cin, cin, 3, groups=cin), nn.Conv2d(cin, cout, 1))


def _priors(maps, size, aspect_ratios, min_ratio, max_ratio):
    scales = [min_ratio + (max_ratio - min_ratio) * k / max(len(maps) - 1, 1) for k in range(len(maps) + 1)]
    rows = []
    for k, (f, ratios) in enumerate(zip(maps, aspect_ratios)):
        f_k = size / (size / f)  # SSD's S / step with step = S / f: f up to rounding, as upstream
        s, s_next = scales[k], min(scales[k + 1], 1.0)
        shapes = [(s, s), (math.sqrt(s * s_next),) * 2]
        shapes += [shape for a in ratios for shape in ((s * math.sqrt(a), s / math.sqrt(a)),
                                                        (s / math.sqrt(a), s * math.sqrt(a)))]
        for i, j in itertools.product(range(f), repeat=2):
            rows += [((j + 0.5) / f_k, (i + 0.5) / f_k, w, h) for w, h in shapes]
    return torch.tensor(rows, dtype=torch.float32).clamp_(0.0, 1.0)


class SSDLite(nn.Module):
    """SSDLite taking paddle_conv's ``SSDLite`` arguments (backbones: :data:`BACKBONE_BLOCKS`)."""

    def __init__(self, num_classes=21, backbone="mobilenet_v1", backbone_kwargs=None, input_size=300,
                 strides=(16, 32), extra_channels=(256, 128), aspect_ratios=None, min_ratio=0.2, max_ratio=0.9):
        super().__init__()
        if backbone not in BACKBONE_BLOCKS:
            raise ValueError(f"the ssd_lite reference has the backbones {', '.join(BACKBONE_BLOCKS)}, not {backbone!r}")
        self.num_classes, self.input_size = num_classes, input_size
        self.backbone = REFERENCES.build(backbone, num_classes=1, **(backbone_kwargs or {}))
        self.blocks_name = BACKBONE_BLOCKS[backbone]
        blocks = getattr(self.backbone, self.blocks_name)
        strides_of = [self.backbone.stride_of(i) for i in range(len(blocks))]
        self.taps = [max(i for i, s in enumerate(strides_of) if s == stride) for stride in strides]
        self.extras = nn.ModuleList()
        self.eval()  # the probes must not move the BN statistics
        with torch.no_grad():
            probe = self._backbone_maps(torch.zeros(1, 3, input_size, input_size))
            channels = [m.shape[1] for m in probe]
            for cout in extra_channels:
                self.extras.append(_extra(channels[-1], cout).eval())
                channels.append(cout)
            maps = [m.shape[2] for m in self._maps(None, probe)]
        self.train()
        if aspect_ratios is None:
            aspect_ratios = [[2]] + [[2, 3]] * max(len(maps) - 2, 0) + ([[2]] if len(maps) > 1 else [])
        self.register_buffer("priors", _priors(maps, input_size, aspect_ratios, min_ratio, max_ratio),
                             persistent=False)
        anchors = [2 + 2 * len(r) for r in aspect_ratios]
        self.loc_heads = nn.ModuleList(_head(c, a * 4) for c, a in zip(channels, anchors))
        self.conf_heads = nn.ModuleList(_head(c, a * num_classes) for c, a in zip(channels, anchors))

    def _backbone_maps(self, x):
        """The backbone's maps at the tapped blocks, in the order of ``strides``."""
        outputs = {}
        for i, block in enumerate(getattr(self.backbone, self.blocks_name)[:max(self.taps) + 1]):
            x = outputs[i] = block(x)
        return [outputs[i] for i in self.taps]

    def _maps(self, x, maps=None):
        maps = list(self._backbone_maps(x) if maps is None else maps)
        for block in self.extras:
            maps.append(block(maps[-1]))
        return maps

    def forward(self, x):
        n = x.shape[0]
        maps = self._maps(x)
        loc = torch.cat([h(m).permute(0, 2, 3, 1).reshape(n, -1, 4) for h, m in zip(self.loc_heads, maps)], 1)
        conf = torch.cat([h(m).permute(0, 2, 3, 1).reshape(n, -1, self.num_classes)
                          for h, m in zip(self.conf_heads, maps)], 1)
        return loc, conf, self.priors


ssd_lite = register_reference(SSDLite, name="ssd_lite")
