"""Pure-torch deformable convolution (v1 and v2, torchvision's conventions: offsets ``[N, dg k_h k_w 2, H', W']``
of ``(dy, dx)`` per kernel point, masks ``[N, dg k_h k_w, H', W']``), the slow, exact reference for
``paddle_conv.layers.DeformConv2D``."""

import torch
from torch.nn.modules.utils import _pair

__all__ = ["deform_conv2d", "bilinear_sample"]


def bilinear_sample(img, y, x):
    """Sample ``img`` ``[N, C, H, W]`` at positions ``y``, ``x`` ``[N, C, P]``; returns ``[N, C, P]``."""
    n, c, h, w = img.shape
    inside = (y > -1) & (y < h) & (x > -1) & (x < w)
    y0, x0 = torch.floor(y), torch.floor(x)
    flat = img.reshape(n, c, h * w)
    out = torch.zeros_like(y)
    for dy in (0, 1):
        for dx in (0, 1):
            yy, xx = y0 + dy, x0 + dx
            weight = (1 - (y - yy).abs()) * (1 - (x - xx).abs())
            valid = inside & (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            index = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).long()
            out = out + torch.where(valid, weight * flat.gather(2, index), torch.zeros_like(y))
    return out


def deform_conv2d(x, offset, weight, bias=None, stride=1, padding=0, dilation=1, mask=None):
    """Deformable convolution of ``x`` ``[N, C_in, H, W]`` with ``weight`` ``[C_out, C_in / g, k_h, k_w]``
    (groups and deformable groups read from the shapes); returns ``[N, C_out, H', W']``."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c_in, h, w = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    groups = c_in // c_per_group
    k = kh * kw
    dg = offset.shape[1] // (2 * k)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    oy = torch.arange(ho, dtype=x.dtype) * sh - ph
    ox = torch.arange(wo, dtype=x.dtype) * sw - pw
    ky, kx = torch.meshgrid(torch.arange(kh, dtype=x.dtype) * dh, torch.arange(kw, dtype=x.dtype) * dw,
                            indexing="ij")
    # base sampling grid [k, ho, wo]
    base_y = ky.reshape(k, 1, 1) + oy.reshape(1, ho, 1)
    base_x = kx.reshape(k, 1, 1) + ox.reshape(1, 1, wo)
    off = offset.reshape(n, dg, k, 2, ho, wo)
    y = base_y + off[:, :, :, 0]  # [n, dg, k, ho, wo]
    xs = base_x + off[:, :, :, 1]
    # every channel of a deformable group uses its group's positions
    per = c_in // dg
    y = y.repeat_interleave(per, dim=1).reshape(n, c_in, k * ho * wo)
    xs = xs.repeat_interleave(per, dim=1).reshape(n, c_in, k * ho * wo)
    cols = bilinear_sample(x, y, xs).reshape(n, c_in, k, ho, wo)
    if mask is not None:
        cols = cols * mask.reshape(n, dg, k, ho, wo).repeat_interleave(per, dim=1)
    cols = cols.reshape(n, groups, c_per_group * k, ho, wo)
    wg = weight.reshape(groups, c_out // groups, c_per_group * k)
    out = torch.einsum("gok,ngkhw->ngohw", wg, cols).reshape(n, c_out, ho, wo)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out
