"""PyTorch reference models, registered under their paddle_conv model names.

Importing this package imports every module in it; each family's module registers its builders.
"""

import importlib
import pkgutil

from paddle_conv.registry import REFERENCES, register_reference  # noqa: F401  (the references' registry)


def create_reference(name, **kwargs):
    """Build the torch reference of the paddle_conv model ``name``."""
    return REFERENCES.build(name, **kwargs)


def list_references(pattern=None):
    """Names that have a torch reference."""
    return REFERENCES.names(pattern)


for _module in pkgutil.iter_modules(__path__):  # every module of the package: a family's reference registers itself
    importlib.import_module(f"{__name__}.{_module.name}")
