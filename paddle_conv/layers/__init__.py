"""Building blocks: convolution variants and the layers models are made of."""

from .octconv import Conv_BN, Conv_BN_ACT, OctaveConv

__all__ = ["Conv_BN", "Conv_BN_ACT", "OctaveConv"]
