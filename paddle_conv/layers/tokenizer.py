"""The convolutional tokenizer of CCT (arXiv 2104.05704): conv-ReLU-maxpool stages whose pixels are tokens."""

from paddle import nn

from .max_pool import FastMaxPool2D


def _output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


class Tokenizer(nn.Layer):
    """``n_conv_layers`` stages of Conv2D (no bias) -> ReLU -> MaxPool2D (``hidden_channels`` wide but the last),
    then flatten: ``[N, in_channels, H, W] -> [N, H' * W', out_channels]``, ``(H', W') = grid_size(H, W)``
    (row-major). Parameters are named as upstream's: ``conv_layers.<i>.0.weight``.
    """

    def __init__(self, kernel_size, stride, padding, pooling_kernel_size=3, pooling_stride=2,
                 pooling_padding=1, n_conv_layers=1, in_channels=3, out_channels=64,
                 hidden_channels=64):
        super().__init__()
        if n_conv_layers < 1:
            raise ValueError(f"n_conv_layers must be at least 1, got {n_conv_layers}")
        widths = [in_channels] + [hidden_channels] * (n_conv_layers - 1) + [out_channels]
        self.conv_geometry = (kernel_size, stride, padding)
        self.pool_geometry = (pooling_kernel_size, pooling_stride, pooling_padding)
        self.conv_layers = nn.Sequential(*[
            nn.Sequential(
                nn.Conv2D(widths[i], widths[i + 1], kernel_size, stride=stride, padding=padding,
                          weight_attr=nn.initializer.KaimingNormal(), bias_attr=False),
                nn.ReLU(),
                FastMaxPool2D(pooling_kernel_size, stride=pooling_stride, padding=pooling_padding),
            )
            for i in range(n_conv_layers)
        ])

    def grid_size(self, height, width):
        """The ``(H', W')`` token grid an ``H x W`` image is cut into."""
        for _ in range(len(self.conv_layers)):
            height, width = (_output_size(s, *self.conv_geometry) for s in (height, width))
            height, width = (_output_size(s, *self.pool_geometry) for s in (height, width))
        return height, width

    def forward(self, x):
        return self.conv_layers(x).flatten(2).transpose([0, 2, 1])
