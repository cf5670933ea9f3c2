"""Model families, one module each; importing a module registers its builders."""

from . import baselines, cct, oct_mobilenet, oct_resnet  # noqa: F401
from .cct import CCT
from .oct_mobilenet import OctMobileNet
from .oct_resnet import OctBottleneck, OctResNet

__all__ = ["CCT", "OctBottleneck", "OctMobileNet", "OctResNet"]
