"""Plain baselines for comparison with the octave models: ResNet-50 (He et al., CVPR 2016)
and MobileNetV1 (Howard et al., arXiv:1704.04861), from ``paddle.vision.models``."""

from paddle.vision import models as vision_models

from ..cards import ModelCard
from ..registry import register_model

#: Both follow ``paddle.vision.models`` (PaddlePaddle/Paddle) names and shapes.
_VISION = ModelCard(upstream="PaddlePaddle/Paddle (paddle.vision.models)", layout="paddle.vision.models")


@register_model(card=_VISION)
def resnet50(num_classes=1000):
    """ResNet-50 from ``paddle.vision.models``; input ``[N, 3, H, W]``, output ``[N, num_classes]``."""
    return vision_models.resnet50(num_classes=num_classes)


@register_model(card=_VISION)
def mobilenet_v1(num_classes=1000, scale=1.0):
    """MobileNetV1 (width multiplier ``scale``, default 1.0) from ``paddle.vision.models``;
    output ``[N, num_classes]``."""
    return vision_models.mobilenet_v1(scale=scale, num_classes=num_classes)
