"""Building blocks: convolution variants and the layers models are made of."""

from .attention import MultiHeadSelfAttention
from .drop_path import DropPath, drop_path
from .octconv import Conv_BN, Conv_BN_ACT, OctaveConv
from .position_embedding import POSITION_EMBEDDINGS, resize_grid_embedding, sinusoidal_embedding
from .seq_pool import SeqPool
from .tokenizer import Tokenizer
from .transformer_encoder import TransformerEncoderLayer

__all__ = [
    "POSITION_EMBEDDINGS",
    "Conv_BN",
    "Conv_BN_ACT",
    "DropPath",
    "MultiHeadSelfAttention",
    "OctaveConv",
    "SeqPool",
    "Tokenizer",
    "TransformerEncoderLayer",
    "drop_path",
    "resize_grid_embedding",
    "sinusoidal_embedding",
]
