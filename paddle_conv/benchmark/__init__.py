"""Side-by-side latency benchmark of paddle_conv models over every execution path (tools/benchmark.py)."""

from .measure import macs_per_image
from .paths import PATHS
from .report import format_table
from .runner import DEFAULT_BASELINES, MODES, run

__all__ = ["DEFAULT_BASELINES", "MODES", "PATHS", "format_table", "macs_per_image", "run"]
