"""SSD300 with a VGG16 base (Liu et al., *SSD*, ECCV 2016) in amdegroot/ssd.pytorch's layout (``L2Norm``, ``loc``,
``conf`` named ``l2_norm``, ``loc_heads``, ``conf_heads``; docs/detection.md): ``vgg`` (upstream's 35 indices), L2Norm
on conv4_3, eight ``extras``, 3x3 heads on six sources (8732 priors, :data:`paddle_conv.det.VOC_SSD300`).
``[N, 3, 300, 300] -> (loc [N, 8732, 4], conf [N, 8732, num_classes], priors [8732, 4])``.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..cards import KeyMapping, ModelCard, WeightEntry
from ..det import VOC_SSD300, num_priors_per_cell, prior_boxes
from ..errors import ConfigError
from ..layers.dense_conv import DenseConv2D
from ..layers.max_pool import FastMaxPool2D
from ..registry import register_model

__all__ = ["L2Norm", "SSD300"]

#: VGG16's convolutions (channels) and pools: ``M`` max pool 2x2, ``C`` the same rounding up.
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "C", 512, 512, 512, "M", 512, 512, 512)
#: The extra layers: (channels, kernel, stride, padding).
_EXTRAS = ((256, 1, 1, 0), (512, 3, 2, 1), (128, 1, 1, 0), (256, 3, 2, 1),
           (128, 1, 1, 0), (256, 3, 1, 0), (128, 1, 1, 0), (256, 3, 1, 0))
_CONV4_3 = 23  # vgg[:23] ends with conv4_3's ReLU
INPUT_SIZE = 300


def multibox_outputs(maps, loc_heads, conf_heads, num_classes, priors):
    """``(loc [N, P, 4], conf [N, P, num_classes], priors)`` of the heads on ``maps``; reshape ``[0, -1, K]``: any
    batch size, and Paddle Inference's oneDNN reshape fuse pass types it right."""
    locs = [head(fmap).transpose([0, 2, 3, 1]).reshape([0, -1, 4]) for fmap, head in zip(maps, loc_heads)]
    confs = [head(fmap).transpose([0, 2, 3, 1]).reshape([0, -1, num_classes]) for fmap, head in zip(maps, conf_heads)]
    return paddle.concat(locs, axis=1), paddle.concat(confs, axis=1), priors


class L2Norm(nn.Layer):
    """``x / (||x||_2 over channels + eps) * weight``: ``[N, C, H, W] -> [N, C, H, W]``, ``weight [C]``.

    The squared norm is clipped at 1e-20: where all channels are 0 (dead ReLUs) upstream's ``sqrt`` gives a NaN
    gradient; the output changes only where ``||x|| < 1e-10``.
    """

    def __init__(self, channels, scale=20.0, eps=1e-10):
        super().__init__()
        self.eps = eps
        self.weight = self.create_parameter([channels], default_initializer=nn.initializer.Constant(scale))

    def forward(self, x):
        norm = paddle.sqrt((x * x).sum(axis=1, keepdim=True).clip(min=1e-20)) + self.eps
        return x / norm * self.weight.reshape([1, -1, 1, 1])


def _conv(cin, cout, kernel, stride=1, padding=0, dilation=1):
    """A :class:`DenseConv2D` (cheaper bias add on CPU), Kaiming-normal weights, zero bias."""
    return DenseConv2D(cin, cout, kernel, stride, padding, dilation=dilation,
                     weight_attr=nn.initializer.KaimingNormal(), bias_attr=nn.initializer.Constant(0.0))


class SSD300(nn.Layer):
    """SSD300-VGG16; ``num_classes`` includes the background, ``width`` scales the base's and extras' channels (a
    student for :class:`~paddle_conv.losses.MultiBoxLoss_KD`)."""

    def __init__(self, num_classes=21, width=1.0, input_size=INPUT_SIZE):
        super().__init__()
        if input_size != INPUT_SIZE:
            raise ConfigError(f"input_size={input_size}: SSD300 takes 300x300 inputs (its priors are VOC_SSD300)")
        if not 0 < width <= 4:
            raise ConfigError(f"width={width} must be in (0, 4]")
        self.num_classes, self.input_size, self.width = num_classes, input_size, width

        def ch(c):
            return max(8, int(round(c * width)))

        layers, cin = [], 3
        for v in _VGG16:
            if v in ("M", "C"):
                layers.append(FastMaxPool2D(2, 2, ceil_mode=v == "C"))
            else:
                layers += [_conv(cin, ch(v), 3, padding=1), nn.ReLU()]
                cin = ch(v)
        layers += [FastMaxPool2D(3, 1, 1), _conv(cin, ch(1024), 3, padding=6, dilation=6), nn.ReLU(),
                   _conv(ch(1024), ch(1024), 1), nn.ReLU()]
        self.vgg = nn.LayerList(layers)
        self.l2_norm = L2Norm(ch(512), 20.0)
        extras, cin = [], ch(1024)
        for cout, kernel, stride, padding in _EXTRAS:
            extras.append(_conv(cin, ch(cout), kernel, stride, padding))
            cin = ch(cout)
        self.extras = nn.LayerList(extras)
        sources = [ch(512), ch(1024)] + [ch(c) for c, *_ in _EXTRAS[1::2]]
        anchors = [num_priors_per_cell(r) for r in VOC_SSD300["aspect_ratios"]]
        self.loc_heads = nn.LayerList([_conv(c, a * 4, 3, padding=1) for c, a in zip(sources, anchors)])
        self.conf_heads = nn.LayerList([_conv(c, a * num_classes, 3, padding=1) for c, a in zip(sources, anchors)])
        self.prior_config = dict(VOC_SSD300)
        self.register_buffer("priors", prior_boxes(VOC_SSD300), persistable=False)

    def _sources(self, x):
        """The six feature maps the heads read (conv4_3 L2-normalised, conv7, four extras)."""
        for layer in self.vgg[:_CONV4_3]:
            x = layer(x)
        sources = [self.l2_norm(x)]
        for layer in self.vgg[_CONV4_3:]:
            x = layer(x)
        sources.append(x)
        for k, conv in enumerate(self.extras):
            x = F.relu(conv(x))
            if k % 2 == 1:
                sources.append(x)
        return sources

    def forward(self, x):
        if x.shape[2] != self.input_size or x.shape[3] != self.input_size:
            raise ConfigError(f"input {list(x.shape)}: SSD300 takes {self.input_size}x{self.input_size} inputs")
        return multibox_outputs(self._sources(x), self.loc_heads, self.conf_heads, self.num_classes, self.priors)


def _amdegroot(name, file_name, map07):
    # amdegroot feeds BGR pixels minus (104, 117, 123): in RGB 0..1 terms, this mean and std 1/255
    return WeightEntry(model="ssd300_vgg16", name=name, urls=(f"https://s3.amazonaws.com/amdegroot-models/{file_name}",),
                       file_name=file_name, file_format="torch", converter="torch", license="MIT",
                       upstream="amdegroot/ssd.pytorch", dataset="voc07+12", metrics={"mAP": map07}, num_classes=21,
                       input_size=(3, 300, 300), mean=(123 / 255, 117 / 255, 104 / 255), std=(1 / 255,) * 3)


#: ``create_model("ssd300_vgg16", num_classes=21, width=1.0)``: amdegroot's SSD300 (:class:`SSD300`).
ssd300_vgg16 = register_model(SSD300, name="ssd300_vgg16", card=ModelCard(
    task="detection", input_size=(3, INPUT_SIZE, INPUT_SIZE), interpolation="bicubic", classifier=None,
    num_classes=21, upstream="amdegroot/ssd.pytorch",
    layout="amdegroot/ssd.pytorch (L2Norm, loc, conf named l2_norm, loc_heads, conf_heads)",
    torch_keys=KeyMapping(renames=((r"^L2Norm\b", "l2_norm"), (r"^loc\b", "loc_heads"), (r"^conf\b", "conf_heads"))),
    weights=(_amdegroot("voc0712", "ssd300_mAP_77.43_v2.pth", 77.43), _amdegroot("voc0712_caffe", "ssd_300_VOC0712.pth",
                                                                                 77.26)),
    quick_check={"kwargs": {"width": 0.0625}, "input_size": (3, 300, 300), "fixed_size": True}))  # a thin SSD300
