"""PyTorch reference models, registered under their paddle_conv model names; importing this package imports
every module in it, and each family's module registers its builders."""

import importlib
import pkgutil

from paddle_conv.registry import REFERENCES, register_reference  # noqa: F401  (the references' registry)

create_reference = REFERENCES.build  # the torch reference of the paddle_conv model ``name``, built with kwargs
list_references = REFERENCES.names  # names that have a torch reference (matching ``pattern``)

for _module in pkgutil.iter_modules(__path__):  # every module of the package: a family's reference registers itself
    importlib.import_module(f"{__name__}.{_module.name}")
