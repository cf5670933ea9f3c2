"""Model families, one module each; importing this package imports every module in it, and each
registers its builders."""

import importlib
import pkgutil

from .cct import CCT
from .conv_resnet import ConvResNet
from .distillation import DistillationModel
from .oct_mobilenet import OctMobileNet
from .oct_resnet import OctBottleneck, OctResNet
from .ssd300 import SSD300
from .ssd_lite import SSDLite

__all__ = ["CCT", "ConvResNet", "DistillationModel", "OctBottleneck", "OctMobileNet", "OctResNet", "SSD300", "SSDLite"]

for _module in pkgutil.iter_modules(__path__):  # every family module registers its builders on import
    importlib.import_module(f"{__name__}.{_module.name}")
