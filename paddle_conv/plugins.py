"""Model families defined outside the package: each ``.py`` file of ``$PADDLE_CONV_PLUGINS`` (``os.pathsep``-
separated) runs once, as a module, when a model or torch-reference registry is first read (docs/adding-a-family.md).
Only the user running the command names plugins: never a config or weights file (SECURITY.md).
"""

import importlib.util
import os
import sys
import traceback

from .errors import ConfigError

__all__ = ["ENV_VAR", "load_plugin", "load_plugins"]

#: The environment variable naming the plugin files.
ENV_VAR = "PADDLE_CONV_PLUGINS"
_loaded = {}


def load_plugin(path):
    """Run the plugin file ``path`` (a ``.py``) once and return its module; ConfigError naming the file
    when it is not a Python file or fails to load (its own exception in one line)."""
    path = os.path.abspath(os.path.expanduser(path))
    if path in _loaded:
        return _loaded[path]
    if not path.endswith(".py") or not os.path.isfile(path):
        raise ConfigError(f"{ENV_VAR}: {path} is not a Python file; name the .py files that define your model "
                          f"families, separated by {os.pathsep!r}")
    name = "paddle_conv_plugin_" + "".join(c if c.isalnum() else "_" for c in os.path.basename(path)[:-3])
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    _loaded[path] = sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the plugin's own error: reported in one line, naming the file and line
        del _loaded[path], sys.modules[name]
        line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == path), "?")
        raise ConfigError(f"{ENV_VAR}: plugin {path} failed at line {line}: {type(exc).__name__}: {exc}; "
                          "fix the plugin or remove it from the variable") from exc
    return module


def load_plugins(paths=None):
    """Load the plugin files ``paths`` (default: those of ``$PADDLE_CONV_PLUGINS``); return their modules."""
    if paths is None:
        paths = [p for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [load_plugin(p) for p in paths]
