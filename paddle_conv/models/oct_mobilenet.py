"""Oct-MobileNetV1 (Chen et al., ICCV 2019): MobileNetV1's separable blocks as octave convolutions (the first splits,
the twelfth merges, the last two are plain), in d-li14/octconv.pytorch's layout and names.
"""

import paddle
import paddle.nn as nn

from ..cards import ModelCard, sequential_stages
from ..layers.fast_conv import conv_bn_act
from ..layers.octconv import Conv_BN_ACT, check_feature_map
from ..pretrained.catalog import dli14_weights
from ..registry import register_model

__all__ = ["OctMobileNet"]


def _separable(in_channels, out_channels, stride, alpha_in, alpha_out):
    """Octave depthwise 3x3 (keeps ``alpha_in``) then octave pointwise 1x1 (``alpha_in -> alpha_out``)."""
    return nn.Sequential(
        Conv_BN_ACT(in_channels, in_channels, 3, alpha_in=alpha_in, alpha_out=alpha_in, stride=stride, padding=1,
                    groups=in_channels),
        Conv_BN_ACT(in_channels, out_channels, 1, alpha_in=alpha_in, alpha_out=alpha_out),
    )


class OctMobileNet(nn.Layer):
    """Oct-MobileNetV1 with ``alpha`` low-frequency channels: ``[N, 3, H, W] -> [N, num_classes]``."""

    # (in, out, stride, kind): "split" enters octave form, "merge" leaves it, "plain" has no low branch
    _BLOCKS = [(32, 64, 1, "split"), (64, 128, 2, None), (128, 128, 1, None), (128, 256, 2, None),
               (256, 256, 1, None), (256, 512, 2, None), (512, 512, 1, None), (512, 512, 1, None),
               (512, 512, 1, None), (512, 512, 1, None), (512, 512, 1, "merge"), (512, 1024, 2, "plain"),
               (1024, 1024, 1, "plain")]

    def __init__(self, num_classes=1000, alpha=0.5):
        super().__init__()
        alphas = {"split": (0, alpha), "merge": (alpha, 0), "plain": (0, 0), None: (alpha, alpha)}
        blocks = [_separable(cin, cout, stride, *alphas[kind]) for cin, cout, stride, kind in self._BLOCKS]
        self.features = nn.Sequential(conv_bn_act(3, 32, 3, 2), *blocks)
        self.avgpool = nn.AdaptiveAvgPool2D(1)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        check_feature_map(x, 3, type(self).__name__)
        x_h, _ = self.features(x)
        return self.fc(paddle.flatten(self.avgpool(x_h), 1))


@register_model(card=ModelCard(upstream="d-li14/octconv.pytorch", layout="d-li14/octconv.pytorch",
                                stages=sequential_stages("features", [2] + [b[2] for b in OctMobileNet._BLOCKS]),
                                weights=(dli14_weights("oct_mobilenet", "imagenet_cosine",
                                                       "1hpXYlHuTLeg04BOTFInrDYsaM4P-b0vK", 71.254, 89.728),),
                                paper=dict(params=4.2e6, macs=321e6, size=224, num_classes=1000,
                                           source="Chen et al. 2019 (1.0 MobileNet v1, alpha=0.5), "
                                                  "facebookresearch/OctConv"),
                                quick_check={"kwargs": {}, "input_size": (3, 33, 47)}))  # odd sizes
def oct_mobilenet(num_classes=1000, alpha=0.5):
    """Oct-MobileNetV1 with ``alpha`` (default 0.5) low-frequency channels; see :class:`OctMobileNet`."""
    return OctMobileNet(num_classes=num_classes, alpha=alpha)
