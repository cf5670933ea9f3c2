"""PyTorch reference models, registered under their paddle_conv model names.

Importing this package imports every family module, which registers its builders.
"""

from paddle_conv.registry import Registry

REFERENCES = Registry("torch reference model")
register_reference = REFERENCES.register


def create_reference(name, **kwargs):
    """Build the torch reference of the paddle_conv model ``name``."""
    return REFERENCES.build(name, **kwargs)


def list_references(pattern=None):
    """Names that have a torch reference."""
    return REFERENCES.names(pattern)


from . import (  # noqa: E402,F401  (they register)
    cct,
    densenet,
    mobilenet,
    mobilenet_v2,
    mobilenet_v3,
    octconv,
    refconv,
    resnet,
    shufflenet,
    ssd300,
    ssd_lite,
    tiny_cnn,
)
