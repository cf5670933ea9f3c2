"""PyTorch reference of ``ssd300_vgg16`` in amdegroot/ssd.pytorch's state-dict layout (``vgg.N``,
``L2Norm.weight``, ``extras.N``, ``loc.N``, ``conf.N``); ``forward`` returns its training-phase
``(loc [N, 8732, 4], conf [N, 8732, C], priors [8732, 4])``. ``width`` scales the channels (1.0 = upstream)."""

import itertools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from paddle_conv.registry import register_reference

_BASE = (64, 64, "M", 128, 128, "M", 256, 256, 256, "C", 512, 512, 512, "M", 512, 512, 512)
# extras: (out channels, kernel, stride, padding); conv8_2, conv9_2, conv10_2, conv11_2 are sources
_EXTRAS = ((256, 1, 1, 0), (512, 3, 2, 1), (128, 1, 1, 0), (256, 3, 2, 1),
           (128, 1, 1, 0), (256, 3, 1, 0), (128, 1, 1, 0), (256, 3, 1, 0))
_BOXES = (4, 6, 6, 6, 4, 4)
_PRIORS = dict(maps=(38, 19, 10, 5, 3, 1), steps=(8, 16, 32, 64, 100, 300), min_sizes=(30, 60, 111, 162, 213, 264),
               max_sizes=(60, 111, 162, 213, 264, 315), ratios=((2,), (2, 3), (2, 3), (2, 3), (2,), (2,)))


def voc300_priors():
    """The 8732 VOC SSD300 priors ``(cx, cy, w, h)``, clipped to [0, 1], upstream's order."""
    rows = []
    for f, step, lo, hi, ratios in zip(*_PRIORS.values()):
        f_k, s = 300 / step, lo / 300
        big = math.sqrt(s * hi / 300)
        for i, j in itertools.product(range(f), repeat=2):
            cx, cy = (j + 0.5) / f_k, (i + 0.5) / f_k
            rows += [[cx, cy, s, s], [cx, cy, big, big]]
            for r in ratios:
                rows += [[cx, cy, s * math.sqrt(r), s / math.sqrt(r)], [cx, cy, s / math.sqrt(r), s * math.sqrt(r)]]
    return torch.tensor(rows).clamp_(0, 1)


class L2Norm(nn.Module):
    def __init__(self, channels, scale):
        super().__init__()
        self.eps = 1e-10
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x):
        return self.weight[None, :, None, None] * (x / (x.pow(2).sum(1, keepdim=True).sqrt() + self.eps))


class SSD300Reference(nn.Module):
    def __init__(self, num_classes=21, width=1.0):
        super().__init__()
        self.num_classes = num_classes

        def ch(c):
            return max(8, int(round(c * width)))

        vgg, cin = [], 3
        for v in _BASE:
            if v == "M" or v == "C":
                vgg.append(nn.MaxPool2d(2, 2, ceil_mode=v == "C"))
            else:
                vgg += [nn.Conv2d(cin, ch(v), 3, padding=1), nn.ReLU(inplace=True)]
                cin = ch(v)
        vgg += [nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, ch(1024), 3, padding=6, dilation=6), nn.ReLU(inplace=True),
                nn.Conv2d(ch(1024), ch(1024), 1), nn.ReLU(inplace=True)]
        self.vgg = nn.ModuleList(vgg)
        self.L2Norm = L2Norm(ch(512), 20)
        extras, cin = [], ch(1024)
        for cout, kernel, stride, padding in _EXTRAS:
            extras.append(nn.Conv2d(cin, ch(cout), kernel, stride=stride, padding=padding))
            cin = ch(cout)
        self.extras = nn.ModuleList(extras)
        sources = [ch(512), ch(1024)] + [e.out_channels for e in extras[1::2]]
        self.loc = nn.ModuleList(nn.Conv2d(c, b * 4, 3, padding=1) for c, b in zip(sources, _BOXES))
        self.conf = nn.ModuleList(nn.Conv2d(c, b * num_classes, 3, padding=1) for c, b in zip(sources, _BOXES))
        self.register_buffer("priors", voc300_priors(), persistent=False)

    def forward(self, x):
        sources = []
        for k in range(23):
            x = self.vgg[k](x)
        sources.append(self.L2Norm(x))
        for k in range(23, len(self.vgg)):
            x = self.vgg[k](x)
        sources.append(x)
        for k, conv in enumerate(self.extras):
            x = F.relu(conv(x), inplace=True)
            if k % 2 == 1:
                sources.append(x)
        n = x.size(0)
        loc = torch.cat([h(s).permute(0, 2, 3, 1).reshape(n, -1) for h, s in zip(self.loc, sources)], 1)
        conf = torch.cat([h(s).permute(0, 2, 3, 1).reshape(n, -1) for h, s in zip(self.conf, sources)], 1)
        return loc.view(n, -1, 4), conf.view(n, -1, self.num_classes), self.priors


ssd300_vgg16 = register_reference(SSD300Reference, name="ssd300_vgg16")
