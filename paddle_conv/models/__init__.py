"""Model families, one module each; importing a module registers its builders."""

from ..pretrained.catalog import WEIGHTS
from ..registry import MODELS
from . import (  # noqa: F401
    baselines,
    cct,
    cct_keras,
    conv_resnet,
    oct_mobilenet,
    oct_resnet,
    refconv_mobilenet,
    ssd300,
    ssd_lite,
    tiny_cnn,
)
from .cct import CCT
from .conv_resnet import ConvResNet
from .distillation import DistillationModel
from .oct_mobilenet import OctMobileNet
from .oct_resnet import OctBottleneck, OctResNet
from .ssd300 import SSD300
from .ssd_lite import SSDLite

__all__ = ["CCT", "ConvResNet", "DistillationModel", "OctBottleneck", "OctMobileNet", "OctResNet", "SSD300", "SSDLite"]

for _entry in WEIGHTS:  # the published weights go onto their models' cards
    MODELS.add_weights(_entry.model, _entry)
