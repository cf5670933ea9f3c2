"""Diverse Branch Block (Ding et al., CVPR 2021, arXiv:2103.13425; docs/refconv.md): a ``k x k`` conv + BN
trained as four branches (``dbb_origin``, ``dbb_1x1``, ``dbb_1x1_kxk``, ``dbb_avg``, PaddleClas's names)
and folded into one conv with a bias for inference (:meth:`DiverseBranchBlock.reparameterize`).
"""

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .fast_conv import fast_conv_class

__all__ = ["DiverseBranchBlock"]


def _conv_bn(in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1):
    return nn.Sequential(("conv", nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                            groups=groups, bias_attr=False)), ("bn", nn.BatchNorm2D(out_channels)))


def _bn_affine(bn):
    """``(scale, shift)`` ``[C]`` of BatchNorm ``bn`` in eval mode: ``bn(x) = scale * x + shift`` per channel."""
    scale = bn.weight / paddle.sqrt(bn._variance + bn._epsilon)
    return scale, bn.bias - bn._mean * scale


class PaddedBatchNorm(nn.Layer):
    """BatchNorm2D ``bn`` whose output ``[N, C, H, W]`` is padded to ``[N, C, H + 2p, W + 2p]`` with
    the value the norm gives a zero input (per channel, from its running statistics)."""

    def __init__(self, channels, pad):
        super().__init__()
        self.bn, self.pad = nn.BatchNorm2D(channels), pad

    def forward(self, x):
        out = self.bn(x)
        if self.pad == 0:
            return out
        value = _bn_affine(self.bn)[1].reshape([1, -1, 1, 1])
        return F.pad(out - value, [self.pad] * 4) + value


class IdentityConv1x1(nn.Conv2D):
    """``1 x 1`` conv ``[N, C, H, W] -> [N, C, H, W]`` whose kernel is its weight (zero at the start)
    plus the identity, so it starts as the identity map."""

    def __init__(self, channels, groups=1):
        super().__init__(channels, channels, 1, groups=groups, bias_attr=False)
        per_group = channels // groups
        identity = np.zeros([channels, per_group, 1, 1], np.float32)
        identity[np.arange(channels), np.arange(channels) % per_group] = 1.0
        self.register_buffer("identity", paddle.to_tensor(identity), persistable=False)
        with paddle.no_grad():
            self.weight.set_value(paddle.zeros_like(self.weight))

    def kernel(self):
        """The kernel applied, ``weight + identity`` ``[C, C / g, 1, 1]``."""
        return self.weight + self.identity

    def forward(self, x):
        return F.conv2d(x, self.kernel(), groups=self._groups)


def _fold_bn(kernel, bn):
    """Kernel ``[O, C / g, k, k]`` and bias ``[O]`` of a bias-free conv of ``kernel`` followed by BatchNorm ``bn``."""
    scale, shift = _bn_affine(bn)
    return kernel * scale.reshape([-1, 1, 1, 1]), shift


def _fold_1x1_kxk(first, first_bias, second, second_bias, groups):
    """Kernel and bias of a ``1 x 1`` conv (``first`` ``[M, C / g, 1, 1]``, bias ``[M]``) followed by a
    ``k x k`` conv (``second`` ``[O, M / g, k, k]``, bias ``[O]``), both of ``groups`` groups."""
    mid, per_group_in = first.shape[0], first.shape[1]
    out, k = second.shape[0], second.shape[2]
    first_g = first.reshape([groups, mid // groups, per_group_in])
    second_g = second.reshape([groups, out // groups, mid // groups, k, k])
    kernel = paddle.einsum("gomhw,gmc->gochw", second_g, first_g).reshape([out, per_group_in, k, k])
    bias = (second_g * first_bias.reshape([groups, 1, mid // groups, 1, 1])).sum([2, 3, 4]).reshape([out])
    return kernel, bias + second_bias


class DiverseBranchBlock(nn.Layer):
    """A ``k x k`` conv + BatchNorm (odd ``k``, padding ``k // 2``) trained as four branches (module docstring);
    ``internal_channels``: width of ``dbb_1x1_kxk``'s 1x1 conv (default ``C_in``, identity-started; ``2 C_in``
    depthwise, as the paper). ``[N, C_in, H, W] -> [N, C_out, H', W']``; no activation (the caller's).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, internal_channels=None):
        super().__init__()
        if not isinstance(kernel_size, int) or kernel_size % 2 == 0:
            raise ValueError(f"DiverseBranchBlock kernel_size={kernel_size!r}: use an odd int (1, 3, 5, ...)")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"DiverseBranchBlock in_channels={in_channels} and out_channels={out_channels} must "
                             f"both be divisible by groups={groups}")
        depthwise = groups == out_channels
        if depthwise and in_channels != out_channels:
            raise ValueError(f"DiverseBranchBlock with groups=out_channels={groups} needs in_channels={in_channels} "
                             "equal to out_channels (a depthwise conv): its average-pooling branch keeps the channels")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.groups, self.padding = stride, groups, kernel_size // 2
        k, pad = kernel_size, kernel_size // 2
        self.dbb_origin = _conv_bn(in_channels, out_channels, k, stride, pad, groups)
        self.dbb_1x1 = None if depthwise else _conv_bn(in_channels, out_channels, 1, stride, 0, groups)
        if depthwise:
            pooling = [("avg", nn.AvgPool2D(k, stride, pad, exclusive=False))]
        else:
            pooling = [("conv", nn.Conv2D(in_channels, out_channels, 1, groups=groups, bias_attr=False)),
                       ("bn", PaddedBatchNorm(out_channels, pad)), ("avg", nn.AvgPool2D(k, stride, 0))]
        self.dbb_avg = nn.Sequential(*pooling, ("avgbn", nn.BatchNorm2D(out_channels)))
        mid = internal_channels or (2 * in_channels if depthwise else in_channels)
        first = (("idconv1", IdentityConv1x1(in_channels, groups)) if mid == in_channels
                 else ("conv1", nn.Conv2D(in_channels, mid, 1, groups=groups, bias_attr=False)))
        self.dbb_1x1_kxk = nn.Sequential(
            first, ("bn1", PaddedBatchNorm(mid, pad)),
            ("conv2", nn.Conv2D(mid, out_channels, k, stride=stride, groups=groups, bias_attr=False)),
            ("bn2", nn.BatchNorm2D(out_channels)))

    def forward(self, x):
        out = self.dbb_origin(x) + self.dbb_avg(x) + self.dbb_1x1_kxk(x)
        return out if self.dbb_1x1 is None else out + self.dbb_1x1(x)

    def equivalent_kernel_bias(self):
        """``(kernel [C_out, C_in / g, k, k], bias [C_out])`` of the one conv computing this block in eval mode."""
        k, groups, pad = self.kernel_size, self.groups, self.padding
        parts = [_fold_bn(self.dbb_origin.conv.weight, self.dbb_origin.bn)]
        if self.dbb_1x1 is not None:
            kernel, bias = _fold_bn(self.dbb_1x1.conv.weight, self.dbb_1x1.bn)
            parts.append((F.pad(kernel, [pad] * 4), bias))
        chain = self.dbb_1x1_kxk
        first = chain.idconv1.kernel() if hasattr(chain, "idconv1") else chain.conv1.weight
        parts.append(_fold_1x1_kxk(*_fold_bn(first, chain.bn1.bn),
                                   *_fold_bn(chain.conv2.weight, chain.bn2), groups))
        per_group = self.out_channels // groups
        average = np.zeros([self.out_channels, per_group, k, k], np.float32)
        average[np.arange(self.out_channels), np.arange(self.out_channels) % per_group] = 1.0 / k ** 2
        pooled = _fold_bn(paddle.to_tensor(average), self.dbb_avg.avgbn)
        if hasattr(self.dbb_avg, "conv"):
            pooled = _fold_1x1_kxk(*_fold_bn(self.dbb_avg.conv.weight, self.dbb_avg.bn.bn), *pooled, groups)
        parts.append(pooled)
        return sum(kernel for kernel, _ in parts), sum(bias for _, bias in parts)

    def reparameterize(self):
        """The :func:`~paddle_conv.layers.fast_conv.fast_conv_class` conv (with bias) equal to this block in eval."""
        conv = fast_conv_class(self.in_channels, self.out_channels, self.kernel_size, self.groups)(
            self.in_channels, self.out_channels, self.kernel_size, stride=self.stride, padding=self.padding,
            groups=self.groups)
        with paddle.no_grad():
            kernel, bias = self.equivalent_kernel_bias()
            conv.weight.set_value(kernel)
            conv.bias.set_value(bias)
        if not self.training:
            conv.eval()
        return conv

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"groups={self.groups}")
