"""Deformable convolution v1 (arXiv:1703.06211) and v2 (arXiv:1811.11168) over ``paddle.vision.ops.deform_conv2d``.

``conv_offset`` predicts offsets laid out as torchvision's (``[deformable_groups, k*k, (dy, dx)]``), then masks.
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.vision.ops import deform_conv2d

__all__ = ["DeformConv2D"]


def _zeros():
    return paddle.ParamAttr(initializer=nn.initializer.Constant(0.0))


class DeformConv2D(nn.Layer):
    """Deformable 2-D convolution (DCNv2 when ``modulated``, DCNv1 otherwise), arguments as ``nn.Conv2D``'s;
    ``deformable_groups`` channel groups share one set of offsets. ``conv_offset`` starts at zero and the mask is
    ``2 * sigmoid`` (not the paper's ``sigmoid``), so the layer starts as a plain convolution with ``weight``.
    ``[N, C_in, H, W] -> [N, C_out, H', W']``; ``weight`` ``[C_out, C_in / groups, k, k]``, ``conv_offset.weight``
    ``[dg * k*k * (3 if modulated else 2), C_in, k, k]``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 deformable_groups=1, modulated=True, bias=False):
        super().__init__()
        if any(c % g for c in (in_channels, out_channels) for g in (groups, deformable_groups)):
            raise ValueError(f"DeformConv2D in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups} and by deformable_groups={deformable_groups} "
                             f"(paddle.vision.ops.deform_conv2d needs both).")
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.deformable_groups, self.modulated = groups, deformable_groups, modulated
        self.num_offsets = deformable_groups * kh * kw * 2
        num_masks = deformable_groups * kh * kw if modulated else 0
        self.weight = self.create_parameter([out_channels, in_channels // groups, kh, kw],
                                            default_initializer=nn.initializer.KaimingUniform())
        self.bias = self.create_parameter([out_channels], is_bias=True) if bias else None
        self.conv_offset = nn.Conv2D(in_channels, self.num_offsets + num_masks, (kh, kw), stride=stride,
                                     padding=padding, dilation=dilation, weight_attr=_zeros(), bias_attr=_zeros())

    def forward(self, x):
        out = self.conv_offset(x)
        offset, mask = out[:, :self.num_offsets], None
        if self.modulated:
            mask = 2.0 * F.sigmoid(out[:, self.num_offsets:])
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, deformable_groups=self.deformable_groups,
                             groups=self.groups, mask=mask)
