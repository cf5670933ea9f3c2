"""Re-parameterized Refocusing Convolution (Cai et al., arXiv:2310.10563; docs/refconv.md).

The kernel applied is ``W = weight + convmap(weight)``: a frozen basis ``weight`` ``[C_out, C_in / g, k, k]``
and a learned ``map_k x map_k`` transform ``convmap`` over it (``C_in C_out / g**2`` groups). Structure and
state-dict names follow the official ``RepConv`` (github.com/Aiolus-X/RefConv).
"""

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .depthwise import DepthwiseConv2D, depthwise_conv2d

__all__ = ["BASIS_MODES", "TRANSFORM_INITS", "RefConv2D"]

#: ``basis`` of :class:`RefConv2D`: the seed's default and its three ablations.
BASIS_MODES = ("frozen", "trainable", "random_frozen", "random_trainable")
#: ``init`` of the refocusing transform: the seed's Xavier, or zero (``W = weight`` at the start).
TRANSFORM_INITS = ("xavier", "zero")


class RefConv2D(nn.Layer):
    """Convolution (square int ``kernel_size``; ``padding`` None: ``dilation * (kernel_size // 2)``) whose kernel
    is a learned ``map_k x map_k`` refocusing of a Kaiming-normal basis ``weight`` (a buffer unless ``basis`` is
    ``*trainable``); ``bias``: a frozen buffer ``[C_out]``; ``init="zero"`` starts as a plain conv.
    ``[N, C_in, H, W] -> [N, C_out, H', W']``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=None, groups=1, map_k=3,
                 dilation=1, bias=False, init="xavier", basis="frozen"):
        super().__init__()
        if init not in TRANSFORM_INITS:
            raise ValueError(f"RefConv2D init={init!r}: use one of {', '.join(TRANSFORM_INITS)}")
        if basis not in BASIS_MODES:
            raise ValueError(f"RefConv2D basis={basis!r}: use one of {', '.join(BASIS_MODES)}")
        if not isinstance(kernel_size, int):
            raise ValueError(f"RefConv2D kernel_size={kernel_size!r}: only square kernels are supported; pass an int.")
        if map_k > kernel_size:
            raise ValueError(f"RefConv2D map_k={map_k} exceeds kernel_size={kernel_size}: the refocusing transform "
                             f"must not be larger than the kernel it transforms; use map_k <= {kernel_size}.")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"RefConv2D in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups}.")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.groups = kernel_size, stride, groups
        self.dilation, self.map_k, self.init, self.basis = dilation, map_k, init, basis
        self.padding = dilation * (kernel_size // 2) if padding is None else padding
        self.kernel_shape = [out_channels, in_channels // groups, kernel_size, kernel_size]
        self.num_2d_kernels = out_channels * in_channels // groups
        kernel = self.create_parameter(self.kernel_shape, default_initializer=nn.initializer.KaimingNormal())
        if basis.endswith("trainable"):
            self.weight = kernel
        else:
            self.register_buffer("weight", kernel.detach(), persistable=True)
        self.register_buffer("bias", paddle.zeros([out_channels]) if bias else None, persistable=True)
        transform_init = nn.initializer.XavierUniform() if init == "xavier" else nn.initializer.Constant(0.0)
        self.convmap = nn.Conv2D(self.num_2d_kernels, self.num_2d_kernels, map_k, stride=1, padding=map_k // 2,
                                 groups=in_channels * out_channels // groups ** 2, bias_attr=False,
                                 weight_attr=paddle.ParamAttr(initializer=transform_init))

    def reset_random_basis(self):
        """Draw a ``random_*`` basis anew (after plain pretrained weights were loaded); return whether it was."""
        if not self.basis.startswith("random"):
            return False
        with paddle.no_grad():
            self.weight.set_value(paddle.create_parameter(
                self.kernel_shape, "float32", default_initializer=nn.initializer.KaimingNormal()))
        return True

    def refocused_kernel(self):
        """The kernel applied to the input, ``weight + convmap(weight)``, ``[C_out, C_in / g, k, k]``."""
        # convmap(basis) as one batched matmul over im2col patches (the grouped conv is slow, docs/refconv.md)
        k, m, groups = self.kernel_size, self.map_k, self.convmap._groups
        per_group = self.num_2d_kernels // groups
        patches = F.unfold(self.weight.reshape([1, self.num_2d_kernels, k, k]), m, paddings=m // 2)
        patches = patches.reshape([groups, per_group * m * m, k * k])
        transform = self.convmap.weight.reshape([groups, per_group, per_group * m * m])
        return self.weight + paddle.matmul(transform, patches).reshape(self.kernel_shape)

    def reparameterize(self):
        """The plain conv computing this layer (class ``folds_into``, else DepthwiseConv2D or nn.Conv2D)."""
        depthwise = self.groups == self.in_channels == self.out_channels
        conv_class = getattr(self, "folds_into", DepthwiseConv2D if depthwise else nn.Conv2D)
        conv = conv_class(self.in_channels, self.out_channels, self.kernel_size, stride=self.stride,
                          padding=self.padding, dilation=self.dilation, groups=self.groups,
                          bias_attr=None if self.bias is not None else False)
        with paddle.no_grad():
            conv.weight.set_value(self.refocused_kernel())
        if self.bias is not None:
            conv.bias.set_value(self.bias)
        if not self.training:
            conv.eval()
        return conv

    def forward(self, x):
        return depthwise_conv2d(x, self.refocused_kernel(), self.bias, stride=self.stride, padding=self.padding,
                                dilation=self.dilation, groups=self.groups, training=self.training)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, map_k={self.map_k}, "
                f"basis={self.basis}")
