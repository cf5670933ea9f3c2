"""Plain baselines from ``paddle.vision.models``, registered by their Paddle names: ResNet-50 and
MobileNetV1 (for comparison with the octave models), and the other architectures the RefConv seed
refocuses that Paddle ships (MobileNetV2, MobileNetV3 small/large, ShuffleNetV2 x1.0,
ResNet-18/34/101, DenseNet-121), so ``Arch: {name: mobilenet_v2, refocus: {...}}`` works from a
config. Each builder takes ``num_classes`` (and ``scale``, the width multiplier, where Paddle has it);
input ``[N, 3, H, W]``, output ``[N, num_classes]``.
"""

import dataclasses

from paddle.vision import models as vision_models

from ..cards import RESNET_STAGES, ModelCard, sequential_stages, stride_stages
from ..layers.depthwise import use_fast_depthwise
from ..registry import register_model

#: All follow ``paddle.vision.models`` (PaddlePaddle/Paddle) names and shapes.
_VISION = ModelCard(upstream="PaddlePaddle/Paddle (paddle.vision.models)", layout="paddle.vision.models")

# name -> (title, takes a width multiplier ``scale``, classifier layer)
VISION_MODELS = {
    "resnet18": ("ResNet-18 (He et al., CVPR 2016)", False, "fc"),
    "resnet34": ("ResNet-34 (He et al., CVPR 2016)", False, "fc"),
    "resnet50": ("ResNet-50 (He et al., CVPR 2016)", False, "fc"),
    "resnet101": ("ResNet-101 (He et al., CVPR 2016)", False, "fc"),
    "mobilenet_v1": ("MobileNetV1 (Howard et al., arXiv:1704.04861)", True, "fc"),
    "mobilenet_v2": ("MobileNetV2 (Sandler et al., CVPR 2018)", True, "classifier.1"),
    "mobilenet_v3_small": ("MobileNetV3-Small (Howard et al., ICCV 2019)", True, "classifier.3"),
    "mobilenet_v3_large": ("MobileNetV3-Large (Howard et al., ICCV 2019)", True, "classifier.3"),
    "shufflenet_v2_x1_0": ("ShuffleNetV2 x1.0 (Ma et al., ECCV 2018)", False, "_fc"),
    "densenet121": ("DenseNet-121 (Huang et al., CVPR 2017)", False, "out"),
}


def _mobilenet_v3_stages(block_strides):
    return stride_stages([("conv", 2), *((f"blocks.{i}", s) for i, s in enumerate(block_strides)), ("lastconv", 1)])


#: The feature stages of each (stage k ends at stride 2**k; ``ModelCard.stages``).
VISION_STAGES = {
    **{name: RESNET_STAGES for name in ("resnet18", "resnet34", "resnet50", "resnet101")},
    "mobilenet_v1": stride_stages([("conv1", 2), ("conv2_1", 1), ("conv2_2", 2), ("conv3_1", 1), ("conv3_2", 2),
                                   ("conv4_1", 1), ("conv4_2", 2), *((f"conv5_{i}", 1) for i in range(1, 6)),
                                   ("conv5_6", 2), ("conv6", 1)]),
    "mobilenet_v2": sequential_stages("features", [2, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1]),
    "mobilenet_v3_small": _mobilenet_v3_stages([2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1]),
    "mobilenet_v3_large": _mobilenet_v3_stages([1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1]),
    "shufflenet_v2_x1_0": stride_stages([("_conv1", 2), ("_max_pool", 2),  # blocks "<stage>_<i>", i from 1
                                         *((f"{stage}_{i}", 2 if i == 1 else 1) for stage, repeats
                                           in ((2, 4), (3, 8), (4, 4)) for i in range(1, repeats + 1)),
                                         ("_last_conv", 1)]),
    "densenet121": stride_stages([("conv1_func", 2), ("pool2d_max", 2), ("db_conv_2", 1),  # then transition, block
                                  *((name, stride) for i in (3, 4, 5)
                                    for name, stride in ((f"tr_conv{i - 1}_blk", 2), (f"db_conv_{i}", 1))),
                                  ("batch_norm", 1)]),
}


def vision_builder(name):
    """The registered builder of ``paddle.vision.models.<name>`` (never downloads weights)."""
    title, scaled, _ = VISION_MODELS[name]
    build = getattr(vision_models, name)
    if scaled:
        def builder(num_classes=1000, scale=1.0):
            return use_fast_depthwise(build(scale=scale, num_classes=num_classes))
    else:
        def builder(num_classes=1000):
            return use_fast_depthwise(build(num_classes=num_classes))
    builder.__name__ = builder.__qualname__ = name
    width = " (width multiplier ``scale``, default 1.0)" if scaled else ""
    builder.__doc__ = (f"{title}{width} from ``paddle.vision.models``; input ``[N, 3, H, W]``, "
                       f"output ``[N, num_classes]``.")
    return builder


for _name, (_, _, _classifier) in VISION_MODELS.items():
    globals()[_name] = register_model(vision_builder(_name), name=_name,
                                      card=dataclasses.replace(_VISION, classifier=_classifier,
                                                               stages=VISION_STAGES.get(_name, ())))
del _name, _classifier
