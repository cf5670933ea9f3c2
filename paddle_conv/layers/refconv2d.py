"""Re-parameterized Refocusing Convolution (Cai et al., "RefConv: Re-parameterized Refocusing
Convolution for Powerful ConvNets", arXiv:2310.10563).

A RefConv layer keeps a *frozen* basis kernel ``weight`` ``[C_out, C_in / g, k, k]`` and learns a
refocusing transform ``convmap``: a ``map_k x map_k`` convolution that treats the basis as a
one-image batch of ``C_out * C_in / g`` channels. The kernel actually applied to the input is

    W = weight + convmap(weight)        (identity term + refocused term)

``convmap`` has ``C_in * C_out / g**2`` groups, so each of its groups mixes ``g`` 2-D kernels:
for a dense conv (g = 1) every 2-D kernel is transformed on its own, for a depthwise conv
(g = C_in = C_out) the transform is dense and every kernel channel attends to all the others.
The structure and the state-dict names (``weight``, ``convmap.weight``) follow the official
``RepConv`` layer (github.com/Aiolus-X/RefConv), so checkpoints map one to one.

By default (``basis="frozen"``) ``weight`` (and ``bias`` when present) are persistable buffers:
they are saved in ``state_dict()`` but are not parameters, so no optimizer ever updates them, and
only ``convmap.weight`` trains. The paper's ablations are the other ``basis`` modes:
``"trainable"`` (the basis is a parameter trained with the transform), ``"random_frozen"`` and
``"random_trainable"`` (the basis is a random draw instead of the trained kernel; see
:func:`paddle_conv.refconv.refocus`). The state-dict names are the same in every mode, and
:func:`paddle_conv.refconv.reparameterize` folds ``W`` back into a plain ``nn.Conv2D`` exactly.
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
    """Convolution whose kernel is a learned refocusing of a frozen basis kernel.

    Args:
        in_channels, out_channels, kernel_size (int, square), stride, groups: as ``nn.Conv2D``.
        padding: as ``nn.Conv2D``; None (default, as the official layer) means ``kernel_size // 2``
            times the dilation ("same" for odd kernels at stride 1).
        map_k: kernel size of the refocusing transform ``convmap`` (official default 3); must not
            exceed ``kernel_size``.
        dilation: as ``nn.Conv2D`` (the official layer has 1 only; the transform does not depend on it).
        bias: keep a frozen bias buffer ``bias`` ``[C_out]`` (e.g. inherited from a refocused conv).
        init: ``"xavier"`` (the seed's recipe: Xavier-uniform transform) or ``"zero"`` (the
            transform starts at zero, so the layer starts as a plain conv with kernel ``weight``).
        basis: one of :data:`BASIS_MODES`; ``"trainable"`` / ``"random_trainable"`` make ``weight``
            a parameter, the others a frozen buffer. ``random_*`` only tell :func:`refocus` not to
            copy the trained kernel.

    The basis starts from Kaiming-normal values; :func:`refocus` sets it to a trained conv's kernel
    (except for the ``random_*`` modes).

    Input ``[N, C_in, H, W]``; output ``[N, C_out, H', W']`` with ``H'`` as for ``nn.Conv2D``.
    Trainable parameters: ``(C_out C_in / g) * g * map_k**2``, e.g. 18,432 for
    ``RefConv2D(32, 64, 3)`` and 36,864 for ``RefConv2D(64, 64, 3, groups=64)``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=None, groups=1, map_k=3,
                 dilation=1, bias=False, init="xavier", basis="frozen"):
        super().__init__()
        if init not in TRANSFORM_INITS:
            raise ValueError(f"RefConv2D init={init!r}: use one of {', '.join(TRANSFORM_INITS)}")
        if basis not in BASIS_MODES:
            raise ValueError(f"RefConv2D basis={basis!r}: use one of {', '.join(BASIS_MODES)}")
        if not isinstance(kernel_size, int):
            raise ValueError(
                f"RefConv2D kernel_size={kernel_size!r}: only square kernels are supported; pass an int."
            )
        if map_k > kernel_size:
            raise ValueError(
                f"RefConv2D map_k={map_k} exceeds kernel_size={kernel_size}: the refocusing transform "
                f"must not be larger than the kernel it transforms; use map_k <= {kernel_size}."
            )
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"RefConv2D in_channels={in_channels} and out_channels={out_channels} must both be "
                f"divisible by groups={groups}."
            )
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

    @property
    def trainable_basis(self):
        """Whether ``weight`` is a parameter (``basis`` ``"trainable"`` or ``"random_trainable"``)."""
        return self.basis.endswith("trainable")

    def reset_basis(self):
        """Draw a new Kaiming-normal basis (the ``random_*`` ablations)."""
        with paddle.no_grad():
            self.weight.set_value(paddle.create_parameter(
                self.kernel_shape, "float32", default_initializer=nn.initializer.KaimingNormal()))

    def reset_random_basis(self):
        """After plain pretrained weights were loaded: a ``random_*`` basis is drawn anew (else the
        loaded kernel would be the basis). Returns whether it was."""
        if not self.basis.startswith("random"):
            return False
        self.reset_basis()
        return True

    def refocused_kernel(self):
        """The kernel applied to the input, ``weight + convmap(weight)``, ``[C_out, C_in / g, k, k]``."""
        # convmap(basis) as one batched matmul over its im2col patches, the same sums as the grouped
        # conv of a one-image batch of C_out * C_in / g channels, which Paddle's CPU kernels run
        # slowly for that many groups (a refocused ResNet-34 forward took 3x as long with it).
        k, m, groups = self.kernel_size, self.map_k, self.convmap._groups
        per_group = self.num_2d_kernels // groups
        patches = F.unfold(self.weight.reshape([1, self.num_2d_kernels, k, k]), m, paddings=m // 2)
        patches = patches.reshape([groups, per_group * m * m, k * k])
        transform = self.convmap.weight.reshape([groups, per_group, per_group * m * m])
        return self.weight + paddle.matmul(transform, patches).reshape(self.kernel_shape)

    def reparameterize(self):
        """The plain ``nn.Conv2D`` computing what this layer computes (its inference form): ``weight``
        the refocused kernel ``weight + convmap(weight)``, ``bias`` this layer's (none when it has none).
        Its class is ``folds_into`` when set (``refocus`` records the class of the conv it replaced),
        else ``DepthwiseConv2D`` for a depthwise layer and ``nn.Conv2D`` otherwise."""
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
