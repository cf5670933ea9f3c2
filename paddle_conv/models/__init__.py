"""Model families, one module each; importing a module registers its builders."""

from . import cct  # noqa: F401
