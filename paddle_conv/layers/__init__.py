"""Building blocks: convolution variants and the layers models are made of."""

from .bottleneck import Bottleneck
from .channel_shuffle import ChannelShuffle
from .conv_factory import CONV_KINDS, create_conv2d
from .deform_conv import DeformConv2D
from .depthwise_separable import DepthwiseSeparableConv
from .inception import InceptionBlock
from .octconv import Conv_BN, Conv_BN_ACT, OctaveConv
from .refconv import RefConv2D
from .squeeze_excite import SqueezeExcite

__all__ = ["Bottleneck", "CONV_KINDS", "ChannelShuffle", "Conv_BN", "Conv_BN_ACT", "DeformConv2D",
           "DepthwiseSeparableConv", "InceptionBlock", "OctaveConv", "RefConv2D", "SqueezeExcite",
           "create_conv2d"]
