"""ResNet (He et al., CVPR 2016) whose 3x3 convolutions are any :func:`~paddle_conv.layers.create_conv2d` kind, per
stage: ``conv_resnet50`` (``paddle.vision.models.resnet50``'s names with plain convs) and ``resnet50_dcn`` (DCNv2 in
stages 3-5, Zhu et al., CVPR 2019). In a config: ``Arch: {name: conv_resnet50, conv: refconv}``.
"""

import paddle
import paddle.nn as nn

from ..cards import RESNET_STAGES, KeyMapping, ModelCard
from ..layers.bottleneck import Bottleneck
from ..layers.max_pool import FastMaxPool2D
from ..registry import register_model

__all__ = ["ConvResNet"]

#: torchvision-style separate ``conv2.offset_conv`` and ``conv2.mask_conv`` are Paddle's one ``conv2.conv_offset``.
DCN_TORCH_KEYS = KeyMapping(renames=((r"\.conv2\.(offset_conv|mask_conv)\b", ".conv2.conv_offset"),),
                            merged=(r".*\.conv2\.conv_offset\.(weight|bias)",))
_CARD = ModelCard(upstream="PaddlePaddle/Paddle (paddle.vision.models)", layout="paddle.vision.models.resnet50",
                  stages=RESNET_STAGES, residual_branches=((Bottleneck, "bn3"),), torch_keys=DCN_TORCH_KEYS)

_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


class ConvResNet(nn.Layer):
    """Bottleneck ResNet (``depth`` 50, 101 or 152) whose 3x3 convs in ``conv_stages`` (2 = ``layer1`` ... 5) are
    of kind ``conv`` with ``conv_kwargs``: ``[N, 3, H, W] -> [N, num_classes]`` (0 classes: pooled ``[N, 2048]``)."""

    def __init__(self, depth=50, num_classes=1000, conv="conv", conv_stages=(2, 3, 4, 5), conv_kwargs=None):
        super().__init__()
        if depth not in _BLOCKS:
            raise ValueError(f"ConvResNet depth={depth} is not one of {sorted(_BLOCKS)}.")
        bad = sorted(set(conv_stages) - {2, 3, 4, 5})
        if bad:
            raise ValueError(f"ConvResNet conv_stages {bad} do not exist: stages are 2, 3, 4 and 5 (layer1..layer4).")
        if conv == "octave":
            raise ValueError("ConvResNet takes tensor convolutions; octave convolutions need the octave "
                             "models: use oct_resnet50.")
        self.conv1 = nn.Conv2D(3, 64, 7, stride=2, padding=3, bias_attr=False)
        self.bn1 = nn.BatchNorm2D(64)
        self.relu = nn.ReLU()
        self.maxpool = FastMaxPool2D(3, stride=2, padding=1)
        in_channels = 64
        for stage, (blocks, planes) in enumerate(zip(_BLOCKS[depth], (64, 128, 256, 512)), start=2):
            kind, kwargs = (conv, conv_kwargs) if stage in conv_stages else ("conv", None)
            layers = []
            for i in range(blocks):
                stride = 2 if i == 0 and stage > 2 else 1
                layers.append(Bottleneck(in_channels, planes, stride=stride, conv=kind, conv_kwargs=kwargs))
                in_channels = planes * Bottleneck.expansion
            setattr(self, f"layer{stage - 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(in_channels, num_classes) if num_classes > 0 else None

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = paddle.flatten(self.avgpool(x), 1)
        return x if self.fc is None else self.fc(x)


@register_model(card=_CARD)
def conv_resnet50(num_classes=1000, conv="conv", conv_stages=(2, 3, 4, 5), conv_kwargs=None):
    """ResNet-50 whose 3x3 convs in ``conv_stages`` are of kind ``conv``; output ``[N, num_classes]``."""
    return ConvResNet(50, num_classes, conv, tuple(conv_stages), conv_kwargs)


@register_model(card=ModelCard(layout="paddle.vision.models.resnet50 with DCNv2 3x3 convs in stages 3-5",
                                stages=RESNET_STAGES, residual_branches=((Bottleneck, "bn3"),),
                                torch_keys=DCN_TORCH_KEYS, quick_check={"kwargs": {}, "input_size": (3, 32, 32)}))
def resnet50_dcn(num_classes=1000, deformable_groups=1):
    """ResNet-50 with DCNv2 (modulated deformable conv) in the 3x3 convs of stages 3-5."""
    return ConvResNet(50, num_classes, "deform", (3, 4, 5), {"deformable_groups": deformable_groups})
