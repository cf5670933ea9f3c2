"""Side-by-side latency benchmark of paddle_conv models over every execution path.

``tools/benchmark.py`` is its command line; :func:`run` is the whole benchmark as a function
(``docs/benchmarks.md`` describes the columns and the measurements taken with it).
"""

from .measure import machine_info, macs_per_image
from .paths import DEPLOY_PATHS, PATHS, paddle_step, seeded_model, torch_step
from .report import add_ratios, format_table, summarize
from .runner import DEFAULT_BASELINES, MODES, run

__all__ = ["DEFAULT_BASELINES", "DEPLOY_PATHS", "MODES", "PATHS", "add_ratios", "seeded_model", "format_table",
           "machine_info", "macs_per_image", "paddle_step", "run", "summarize", "torch_step"]
