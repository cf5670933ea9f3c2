"""Channel shuffle (Zhang et al., "ShuffleNet", CVPR 2018, arXiv:1707.01083).

After a grouped convolution each output group has seen only its own input group; shuffling
interleaves the groups so that the next grouped convolution mixes them. With ``g`` groups of
``n = C / g`` channels, output channel ``j`` is input channel ``(j % g) * n + j // g``
(reshape ``[N, g, n, H, W]``, transpose to ``[N, n, g, H, W]``, flatten). Paddle ships the
operation: ``paddle.nn.ChannelShuffle(groups, data_format="NCHW")``, exported here as is.
"""

from paddle.nn import ChannelShuffle

__all__ = ["ChannelShuffle"]
