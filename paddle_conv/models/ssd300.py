"""SSD300 with a VGG16 base (Liu et al., *SSD*, ECCV 2016), in the layout of amdegroot/ssd.pytorch.

* ``vgg``: VGG16's thirteen 3x3 convolutions with ReLU and max pools (the third pool rounds up,
  ``ceil_mode``), then ``pool5`` (3x3, stride 1, padding 1), ``conv6`` (3x3, dilation 6, 1024) and
  ``conv7`` (1x1, 1024), each with ReLU: 35 entries, upstream's indices (convolution ``i`` is
  ``vgg.<index>``, the ReLUs and pools have no weights).
* ``l2_norm``: L2Norm(512, 20) on conv4_3 (``vgg[22]``'s output): each position's channel vector
  scaled to unit length, times a learned per-channel weight initialised to 20.
* ``extras``: 1x1 256, 3x3/2 512, 1x1 128, 3x3/2 256, 1x1 128, 3x3 256, 1x1 128, 3x3 256, each
  followed by ReLU; every second one is a source.
* ``loc_heads`` / ``conf_heads``: a 3x3 convolution on each of the six sources (38, 19, 10, 5, 3,
  1 at 300x300) with 4, 6, 6, 6, 4, 4 boxes per cell: 8732 priors
  (:data:`paddle_conv.det.VOC_SSD300`).

At 21 classes and ``width=1`` it has 26,285,486 parameters, and its state dict is upstream's with
``L2Norm``, ``loc``, ``conf`` named ``l2_norm``, ``loc_heads``, ``conf_heads`` (the bridge's
mapping, ``weights_bridge.references.ssd300_torch``). ``width`` scales every channel count but the
heads' outputs: a thinner SSD300 on the same priors, a student for
:class:`~paddle_conv.losses.MultiBoxLoss_KD` (``configs/ssd300_kd_voc.yaml``).

Forward: ``[N, 3, 300, 300] -> (loc [N, 8732, 4], conf [N, 8732, num_classes], priors [8732, 4])``,
as :class:`~paddle_conv.models.SSDLite`.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ..cards import KeyMapping, ModelCard, WeightEntry
from ..det import VOC_SSD300, num_priors_per_cell, prior_boxes
from ..errors import ConfigError
from ..layers.dense_conv import DenseConv2D
from ..registry import register_model

__all__ = ["L2Norm", "SSD300"]

#: VGG16's convolutions (channels) and pools: ``M`` max pool 2x2, ``C`` the same rounding up.
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "C", 512, 512, 512, "M", 512, 512, 512)
#: The extra layers: (channels, kernel, stride, padding).
_EXTRAS = ((256, 1, 1, 0), (512, 3, 2, 1), (128, 1, 1, 0), (256, 3, 2, 1),
           (128, 1, 1, 0), (256, 3, 1, 0), (128, 1, 1, 0), (256, 3, 1, 0))
_CONV4_3 = 23  # vgg[:23] ends with conv4_3's ReLU
INPUT_SIZE = 300


class L2Norm(nn.Layer):
    """``x / (||x||_2 over channels + eps) * weight``: ``[N, C, H, W] -> [N, C, H, W]``, ``weight [C]``.

    The squared norm is clipped at 1e-20 before its square root: where all channels of a position
    are 0 (dead ReLUs, common when training from scratch) upstream's ``sqrt`` has an infinite
    derivative and the gradient becomes NaN (which the ReLUs before it then hide as 0 in the
    forward pass, silently). The output changes only where ``||x|| < 1e-10``.
    """

    def __init__(self, channels, scale=20.0, eps=1e-10):
        super().__init__()
        self.eps = eps
        self.weight = self.create_parameter([channels], default_initializer=nn.initializer.Constant(scale))

    def forward(self, x):
        norm = paddle.sqrt((x * x).sum(axis=1, keepdim=True).clip(min=1e-20)) + self.eps
        return x / norm * self.weight.reshape([1, -1, 1, 1])


def _conv(cin, cout, kernel, stride=1, padding=0, dilation=1):
    """A convolution with Kaiming-normal weights and zero bias (trainable from scratch without BN);
    a :class:`DenseConv2D`, whose bias add is cheaper on CPU."""
    return DenseConv2D(cin, cout, kernel, stride, padding, dilation=dilation,
                     weight_attr=nn.initializer.KaimingNormal(), bias_attr=nn.initializer.Constant(0.0))


class SSD300(nn.Layer):
    """SSD300-VGG16 detector (see the module docstring).

    Args:
        num_classes: classes including background (21 for VOC).
        width: channel multiplier of the VGG base and the extras (1.0: amdegroot's SSD300).
        input_size: the input side; SSD300's priors are made for 300 only.
    """

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
                layers.append(nn.MaxPool2D(2, 2, ceil_mode=v == "C"))
            else:
                layers += [_conv(cin, ch(v), 3, padding=1), nn.ReLU()]
                cin = ch(v)
        layers += [nn.MaxPool2D(3, 1, 1), _conv(cin, ch(1024), 3, padding=6, dilation=6), nn.ReLU(),
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
        locs, confs = [], []
        for fmap, loc_head, conf_head in zip(self._sources(x), self.loc_heads, self.conf_heads):
            locs.append(loc_head(fmap).transpose([0, 2, 3, 1]).reshape([0, -1, 4]))
            confs.append(conf_head(fmap).transpose([0, 2, 3, 1]).reshape([0, -1, self.num_classes]))
        return paddle.concat(locs, axis=1), paddle.concat(confs, axis=1), self.priors


def _amdegroot(name, file_name, map07):
    # amdegroot feeds BGR pixels minus (104, 117, 123): in RGB 0..1 terms, this mean and std 1/255
    return WeightEntry(model="ssd300_vgg16", name=name, urls=(f"https://s3.amazonaws.com/amdegroot-models/{file_name}",),
                       file_name=file_name, file_format="torch", converter="torch", license="MIT",
                       upstream="amdegroot/ssd.pytorch", dataset="voc07+12", metrics={"mAP": map07}, num_classes=21,
                       input_size=(3, 300, 300), mean=(123 / 255, 117 / 255, 104 / 255), std=(1 / 255,) * 3)


#: ``create_model("ssd300_vgg16", num_classes=21, width=1.0)``: amdegroot's SSD300 on VGG16
#: (26,285,486 parameters at 21 classes); builds :class:`SSD300`.
ssd300_vgg16 = register_model(SSD300, name="ssd300_vgg16", card=ModelCard(
    task="detection", input_size=(3, INPUT_SIZE, INPUT_SIZE), interpolation="bicubic", classifier=None,
    num_classes=21, upstream="amdegroot/ssd.pytorch",
    layout="amdegroot/ssd.pytorch (L2Norm, loc, conf named l2_norm, loc_heads, conf_heads)",
    torch_keys=KeyMapping(renames=((r"^L2Norm\b", "l2_norm"), (r"^loc\b", "loc_heads"), (r"^conf\b", "conf_heads"))),
    weights=(_amdegroot("voc0712", "ssd300_mAP_77.43_v2.pth", 77.43), _amdegroot("voc0712_caffe", "ssd_300_VOC0712.pth",
                                                                                 77.26)),
    quick_check={"kwargs": {"width": 0.0625}, "input_size": (3, 300, 300), "fixed_size": True}))  # a thin SSD300
