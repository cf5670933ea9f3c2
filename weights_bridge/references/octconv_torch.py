"""PyTorch reference of the octave-convolution family (Chen et al., ICCV 2019, arXiv:1904.05049) in
d-li14/octconv.pytorch's layout, registration order and forward (its 2x2 pooling floors odd sizes)."""

import functools
import math

import torch
import torch.nn as nn

from paddle_conv.registry import register_reference

__all__ = ["OctaveConv", "Conv_BN", "Conv_BN_ACT", "OctBottleneck", "OctResNet", "OctMobileNet"]


class OctaveConv(nn.Module):
    """Octave convolution over ``x`` ``[N, C_in, H, W]`` or ``(x_h, x_l)``; returns ``(y_h, y_l)``
    (``y_l`` ``[N, int(alpha_out C_out), H'/2, W'/2]`` or None); ``groups == in_channels``: depthwise."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if not (0 <= alpha_in <= 1 and 0 <= alpha_out <= 1):
            raise ValueError(f"alpha_in and alpha_out must lie in [0, 1], got {alpha_in}, {alpha_out}")
        self.downsample = nn.AvgPool2d(kernel_size=(2, 2), stride=2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.stride = stride
        self.is_dw = groups == in_channels
        self.alpha_in, self.alpha_out = alpha_in, alpha_out
        lo_in, lo_out = int(alpha_in * in_channels), int(alpha_out * out_channels)
        hi_in, hi_out = in_channels - lo_in, out_channels - lo_out

        def conv(cin, cout, g):
            return nn.Conv2d(cin, cout, kernel_size, 1, padding, dilation, g, bias)

        # upstream registers l2l, l2h, h2l, h2h in this order (it fixes the state_dict order)
        has_lo_in, has_hi_in = alpha_in > 0, alpha_in < 1
        has_lo_out, has_hi_out = alpha_out > 0, alpha_out < 1
        g_lo, g_hi = math.ceil(alpha_in * groups), math.ceil(groups - alpha_in * groups)
        self.conv_l2l = conv(lo_in, lo_out, g_lo) if has_lo_in and has_lo_out else None
        self.conv_l2h = conv(lo_in, hi_out, groups) if has_lo_in and has_hi_out and not self.is_dw else None
        self.conv_h2l = conv(hi_in, lo_out, groups) if has_hi_in and has_lo_out and not self.is_dw else None
        self.conv_h2h = conv(hi_in, hi_out, g_hi) if has_hi_in and has_hi_out else None

    def forward(self, x):
        x_h, x_l = x if isinstance(x, tuple) else (x, None)
        if self.stride == 2:
            x_h = self.downsample(x_h)
        y_h = self.conv_h2h(x_h)
        y_h2l = self.conv_h2l(self.downsample(x_h)) if self.alpha_out > 0 and not self.is_dw else None
        if x_l is None:
            return y_h, y_h2l
        x_l2l = self.downsample(x_l) if self.stride == 2 else x_l
        y_l2l = self.conv_l2l(x_l2l) if self.alpha_out > 0 else None
        if self.is_dw:
            return y_h, y_l2l
        y_l2h = self.conv_l2h(x_l)
        if self.stride == 1:
            y_l2h = self.upsample(y_l2h)
        y_l = y_h2l + y_l2l if y_h2l is not None and y_l2l is not None else None
        return y_l2h + y_h, y_l


class Conv_BN(nn.Module):  # noqa: N801  (upstream's class name)
    """OctaveConv then one BatchNorm per branch (``bn_h``, ``bn_l``); returns ``(y_h, y_l)``."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv = OctaveConv(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                               dilation, groups, bias)
        # upstream's rounding: int(C (1 - a)) can differ from C - int(a C) for some alphas
        self.bn_h = None if alpha_out == 1 else norm_layer(int(out_channels * (1 - alpha_out)))
        self.bn_l = None if alpha_out == 0 else norm_layer(int(out_channels * alpha_out))

    def activate(self, x):
        return x

    def forward(self, x):
        y_h, y_l = self.conv(x)
        y_h = self.activate(self.bn_h(y_h))
        y_l = self.activate(self.bn_l(y_l)) if y_l is not None else None
        return y_h, y_l


class Conv_BN_ACT(Conv_BN):  # noqa: N801  (upstream's class name)
    """OctaveConv, BatchNorm and an in-place activation (``act``, default ReLU) per branch."""

    def __init__(self, in_channels, out_channels, kernel_size, alpha_in=0.5, alpha_out=0.5, stride=1,
                 padding=0, dilation=1, groups=1, bias=False, norm_layer=nn.BatchNorm2d,
                 activation_layer=nn.ReLU):
        super().__init__(in_channels, out_channels, kernel_size, alpha_in, alpha_out, stride, padding,
                         dilation, groups, bias, norm_layer)
        self.act = activation_layer(inplace=True)

    def activate(self, x):
        return self.act(x)


class OctBottleneck(nn.Module):
    """Upstream's ``Bottleneck``: Conv_BN_ACT 1x1, Conv_BN_ACT 3x3, Conv_BN 1x1, shortcut, ReLU."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, alpha_in=0.5,
                 alpha_out=0.5, output=False, alpha=0.5):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        inner = 0 if output else alpha
        self.conv1 = Conv_BN_ACT(inplanes, width, 1, alpha_in=alpha_in, alpha_out=alpha_out)
        self.conv2 = Conv_BN_ACT(width, width, 3, alpha_in=inner, alpha_out=inner, stride=stride, padding=1,
                                 groups=groups)
        self.conv3 = Conv_BN(width, planes * self.expansion, 1, alpha_in=inner, alpha_out=inner)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity_h, identity_l = x if isinstance(x, tuple) else (x, None)
        y_h, y_l = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            identity_h, identity_l = self.downsample(x)
        y_h += identity_h
        y_l = y_l + identity_l if identity_l is not None else None
        y_h = self.relu(y_h)
        y_l = self.relu(y_l) if y_l is not None else None
        return y_h, y_l


class OctResNet(nn.Module):
    """Upstream's ``OctResNet``: ``[N, 3, H, W] -> [N, num_classes]``, H and W at least 64 (multiples of 64
    keep every pooled map even, where upstream's flooring pooling equals paddle_conv's)."""

    def __init__(self, layers, num_classes=1000, alpha=0.5, groups=1, width_per_group=64):
        super().__init__()
        self.inplanes, self.groups, self.base_width, self.alpha = 64, groups, width_per_group, alpha
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0], alpha_in=0, alpha_out=alpha)
        self.layer2 = self._make_layer(128, layers[1], stride=2, alpha_in=alpha, alpha_out=alpha)
        self.layer3 = self._make_layer(256, layers[2], stride=2, alpha_in=alpha, alpha_out=alpha)
        self.layer4 = self._make_layer(512, layers[3], stride=2, alpha_in=alpha, alpha_out=0, output=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * OctBottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes, blocks, stride=1, alpha_in=0.5, alpha_out=0.5, output=False):
        out_planes = planes * OctBottleneck.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_planes:
            downsample = nn.Sequential(
                Conv_BN(self.inplanes, out_planes, 1, stride=stride, alpha_in=alpha_in, alpha_out=alpha_out))
        common = dict(groups=self.groups, base_width=self.base_width, output=output, alpha=self.alpha)
        stage = [OctBottleneck(self.inplanes, planes, stride, downsample, alpha_in=alpha_in,
                               alpha_out=alpha_out, **common)]
        self.inplanes = out_planes
        inner = 0 if output else self.alpha
        stage += [OctBottleneck(out_planes, planes, alpha_in=inner, alpha_out=inner, **common)
                  for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x_h, _ = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x_h), 1))


def _separable(in_channels, out_channels, stride, alpha_in, alpha_out):
    # upstream's conv_dw: the depthwise part keeps alpha_in on both sides
    return nn.Sequential(
        Conv_BN_ACT(in_channels, in_channels, 3, alpha_in=alpha_in, alpha_out=alpha_in, stride=stride,
                    padding=1, groups=in_channels),
        Conv_BN_ACT(in_channels, out_channels, 1, alpha_in=alpha_in, alpha_out=alpha_out),
    )


class OctMobileNet(nn.Module):
    """Upstream's ``OctMobileNet`` (four 512-channel blocks before the merging one): ``[N, 3, H, W] -> [N, K]``."""

    # (in, out, stride, low-frequency fraction in, out) with a = alpha
    _BLOCKS = [(32, 64, 1, 0, "a"), (64, 128, 2, "a", "a"), (128, 128, 1, "a", "a"), (128, 256, 2, "a", "a"),
               (256, 256, 1, "a", "a"), (256, 512, 2, "a", "a")] + [(512, 512, 1, "a", "a")] * 4 + \
              [(512, 512, 1, "a", 0), (512, 1024, 2, 0, 0), (1024, 1024, 1, 0, 0)]

    def __init__(self, num_classes=1000, alpha=0.5):
        super().__init__()
        blocks = [_separable(cin, cout, s, *(alpha if a == "a" else a for a in (a_in, a_out)))
                  for cin, cout, s, a_in, a_out in self._BLOCKS]
        stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.features = nn.Sequential(stem, *blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x_h, _ = self.features(x)
        return self.fc(torch.flatten(self.avgpool(x_h), 1))


_OCT_RESNET_DEPTHS = {26: [2, 2, 2, 2], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 24, 36, 3]}


for _depth, _blocks in _OCT_RESNET_DEPTHS.items():
    register_reference(functools.partial(OctResNet, _blocks), name=f"oct_resnet{_depth}")
oct_mobilenet = register_reference(OctMobileNet, name="oct_mobilenet")
