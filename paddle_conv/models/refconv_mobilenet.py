"""``refconv_mobilenet_v1``: ``mobilenet_v1`` with its 3x3 convs refocused (RefConv, arXiv:2310.10563), e.g. for
``configs/refconv_finetune.yaml``; :func:`paddle_conv.refconv.reparameterize` gives back a plain ``mobilenet_v1``.
"""

from ..cards import ModelCard
from ..refconv import refocus
from ..registry import MODELS, register_model
from .baselines import MOBILENET_V1_STAGES


@register_model(card=ModelCard(upstream="Aiolus-X/RefConv (RepConv layers)",
                                layout="paddle.vision.models.mobilenet_v1, 3x3 convs as RefConv",
                                stages=MOBILENET_V1_STAGES))
def refconv_mobilenet_v1(num_classes=1000, map_k=3):
    """MobileNetV1 (width 1.0) with RefConv 3x3 convolutions; output ``[N, num_classes]``."""
    return refocus(MODELS.build("mobilenet_v1", num_classes=num_classes), min_kernel=3, map_k=map_k)
