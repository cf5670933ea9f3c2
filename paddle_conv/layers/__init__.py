"""Building blocks: convolution variants and the layers models are made of (``ChannelShuffle``: Paddle's own)."""

from paddle.nn import ChannelShuffle

from .addmm_linear import AddmmLinear
from .attention import MultiHeadSelfAttention
from .bottleneck import Bottleneck
from .conv_factory import CONV_KINDS, create_conv2d
from .deform_conv import DeformConv2D
from .dense_conv import DenseConv2D, dense_conv2d
from .depthwise import DepthwiseConv2D, depthwise_conv2d, use_fast_depthwise
from .depthwise_separable import DepthwiseSeparableConv
from .diverse_branch import DiverseBranchBlock
from .drop_path import DropPath, drop_path
from .fast_conv import fast_conv_class, use_fast_convolutions
from .inception import InceptionBlock
from .octconv import Conv_BN, Conv_BN_ACT, OctaveConv
from .pointwise import PointwiseConv2D, pointwise_conv2d
from .position_embedding import POSITION_EMBEDDINGS, resize_grid_embedding, sinusoidal_embedding
from .refconv2d import RefConv2D
from .seq_pool import SeqPool
from .squeeze_excite import SqueezeExcite
from .tokenizer import Tokenizer
from .transformer_encoder import TransformerEncoderLayer

__all__ = ["CONV_KINDS", "POSITION_EMBEDDINGS", "AddmmLinear", "Bottleneck", "ChannelShuffle", "Conv_BN", "Conv_BN_ACT",
           "DeformConv2D", "DenseConv2D", "DepthwiseConv2D", "DepthwiseSeparableConv", "DiverseBranchBlock", "DropPath",
           "InceptionBlock", "MultiHeadSelfAttention", "OctaveConv", "PointwiseConv2D", "RefConv2D", "SeqPool",
           "SqueezeExcite", "Tokenizer", "TransformerEncoderLayer", "create_conv2d", "dense_conv2d", "depthwise_conv2d",
           "drop_path", "fast_conv_class", "pointwise_conv2d", "resize_grid_embedding", "use_fast_convolutions",
           "use_fast_depthwise", "sinusoidal_embedding"]
