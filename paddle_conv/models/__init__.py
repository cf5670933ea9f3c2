"""Model families, one module each; importing a module registers its builders."""

from . import baselines, oct_mobilenet, oct_resnet, ssd_lite, tiny_cnn  # noqa: F401
from .oct_mobilenet import OctMobileNet
from .oct_resnet import OctBottleneck, OctResNet
from .ssd_lite import SSDLite

__all__ = ["OctBottleneck", "OctMobileNet", "OctResNet", "SSDLite"]
