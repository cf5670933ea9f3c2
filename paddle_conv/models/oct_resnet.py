"""Oct-ResNet (Chen et al., "Drop an Octave", ICCV 2019): every bottleneck conv an octave conv (stage 1 splits,
stage 4 merges), in d-li14/octconv.pytorch's layout and names, so its checkpoints convert one to one.
"""

import paddle
import paddle.nn as nn

from ..cards import RESNET_STAGES, ModelCard
from ..layers.max_pool import FastMaxPool2D
from ..layers.octconv import Conv_BN, Conv_BN_ACT, check_feature_map
from ..pretrained.catalog import dli14_weights
from ..registry import register_variant

__all__ = ["OctBottleneck", "OctResNet"]


class OctBottleneck(nn.Layer):
    """1x1 -> 3x3 -> 1x1 octave bottleneck with identity (or ``downsample``) shortcut.

    Input and output: a tensor or a ``(x_h, x_l)`` tuple; output ``(y_h, y_l)``.
    ``output=True`` marks the blocks of the last stage, which run at ``alpha=0`` after ``conv1``.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 alpha_in=0.5, alpha_out=0.5, norm_layer=nn.BatchNorm2D, output=False, alpha=0.5):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        inner = 0 if output else alpha
        self.conv1 = Conv_BN_ACT(inplanes, width, 1, alpha_in=alpha_in, alpha_out=alpha_out, norm_layer=norm_layer)
        self.conv2 = Conv_BN_ACT(width, width, 3, alpha_in=inner, alpha_out=inner, stride=stride, padding=1,
                                 groups=groups, norm_layer=norm_layer)
        self.conv3 = Conv_BN(width, planes * self.expansion, 1, alpha_in=inner, alpha_out=inner,
                             norm_layer=norm_layer)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        identity_h, identity_l = x if isinstance(x, tuple) else (x, None)
        x_h, x_l = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            identity_h, identity_l = self.downsample(x)
        x_h = self.relu(x_h + identity_h) if identity_h is not None else None  # None: alpha=1
        x_l = self.relu(x_l + identity_l) if identity_l is not None else None
        return x_h, x_l


class OctResNet(nn.Layer):
    """Oct-ResNet with ``layers`` blocks per stage and ``alpha`` low-frequency channels in stages 1-3;
    ``zero_init_residual`` zeroes each block's ``conv3.bn_h``/``bn_l`` (the reference's flag crashes).
    ``[N, 3, H, W] -> [N, num_classes]``.
    """

    def __init__(self, layers, num_classes=1000, alpha=0.5, zero_init_residual=False, groups=1,
                 width_per_group=64, norm_layer=nn.BatchNorm2D):
        super().__init__()
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        self.alpha = alpha
        self.norm_layer = norm_layer
        self.conv1 = nn.Conv2D(3, 64, 7, stride=2, padding=3, bias_attr=False)
        self.bn1 = norm_layer(64)
        self.relu = nn.ReLU()
        self.maxpool = FastMaxPool2D(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0], alpha_in=0, alpha_out=alpha)
        self.layer2 = self._make_layer(128, layers[1], stride=2, alpha_in=alpha, alpha_out=alpha)
        self.layer3 = self._make_layer(256, layers[2], stride=2, alpha_in=alpha, alpha_out=alpha)
        self.layer4 = self._make_layer(512, layers[3], stride=2, alpha_in=alpha, alpha_out=0, output=True)
        self.avgpool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(512 * OctBottleneck.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, planes, blocks, stride=1, alpha_in=0.5, alpha_out=0.5, output=False):
        out_planes = planes * OctBottleneck.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_planes:
            downsample = nn.Sequential(Conv_BN(self.inplanes, out_planes, 1, alpha_in=alpha_in, alpha_out=alpha_out,
                                               stride=stride, norm_layer=self.norm_layer))
        common = dict(groups=self.groups, base_width=self.base_width, norm_layer=self.norm_layer,
                      output=output, alpha=self.alpha)
        stage = [OctBottleneck(self.inplanes, planes, stride, downsample, alpha_in=alpha_in, alpha_out=alpha_out,
                               **common)]
        self.inplanes = out_planes
        inner = 0 if output else self.alpha
        stage += [OctBottleneck(out_planes, planes, alpha_in=inner, alpha_out=inner, **common)
                  for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_weights(self, zero_init_residual):
        for layer in self.sublayers():
            if isinstance(layer, nn.Conv2D):
                # kaiming_normal(mode="fan_out") as the reference: fan_out = C_out * k * k / groups
                fan_out = layer.weight.shape[0] * layer.weight.shape[2] * layer.weight.shape[3]
                nn.initializer.KaimingNormal(fan_in=fan_out, nonlinearity="relu")(layer.weight)
            elif isinstance(layer, (nn.BatchNorm2D, nn.GroupNorm)):
                nn.initializer.Constant(1.0)(layer.weight)
                nn.initializer.Constant(0.0)(layer.bias)
        if zero_init_residual:
            for layer in self.sublayers():
                if isinstance(layer, OctBottleneck):
                    for bn in (layer.conv3.bn_h, layer.conv3.bn_l):
                        if bn is not None:
                            nn.initializer.Constant(0.0)(bn.weight)

    def forward(self, x):
        check_feature_map(x, 3, type(self).__name__)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x_h, _ = x
        return self.fc(paddle.flatten(self.avgpool(x_h), 1))


def _register(name, blocks, **facts):
    """Register the Oct-ResNet ``name`` with ``blocks`` per stage and the card ``facts`` (its residual branches
    end at ``conv3``); returns the builder."""
    def build(num_classes=1000, alpha=0.5, **kwargs):
        return OctResNet(list(blocks), num_classes=num_classes, alpha=alpha, **kwargs)

    card = ModelCard(upstream="d-li14/octconv.pytorch", layout="d-li14/octconv.pytorch", stages=RESNET_STAGES,
                     residual_branches=((OctBottleneck, "conv3"),), **facts)
    return register_variant(name, build, card,
                            f"Oct-ResNet-{name[10:]}: blocks per stage {list(blocks)}; keywords as :class:`OctResNet`.")


oct_resnet26 = _register("oct_resnet26", (2, 2, 2, 2), quick_check={"kwargs": {}, "input_size": (3, 32, 32)})
oct_resnet50 = _register("oct_resnet50", (3, 4, 6, 3), weights=(dli14_weights(
    "oct_resnet50", "imagenet_cosine", "1F9esqmbIJmfTOsAZ6_6JEUnI83LVgF_S", 77.640, 93.662),),
    paper=dict(params=25.557e6, macs=2.367e9, size=224, num_classes=1000,
               source="Chen et al. 2019 (alpha=0.5), d-li14/octconv.pytorch"))
oct_resnet101 = _register("oct_resnet101", (3, 4, 23, 3), weights=(dli14_weights(
    "oct_resnet101", "imagenet_cosine", "1E3To8EZDlVX8EfIU4q4r6SHDUHStKOqG", 78.794, 94.330),))
oct_resnet152 = _register("oct_resnet152", (3, 8, 36, 3), weights=(dli14_weights(
    "oct_resnet152", "imagenet_cosine", "1lmNaN8W-ky91je2hbPfUv4va6Uj4_qw1", 79.258, 94.480),))
oct_resnet200 = _register("oct_resnet200", (3, 24, 36, 3))
