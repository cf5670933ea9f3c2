"""Channel shuffle (ShuffleNet, arXiv:1707.01083): Paddle's ``paddle.nn.ChannelShuffle``, exported as is."""

from paddle.nn import ChannelShuffle

__all__ = ["ChannelShuffle"]
