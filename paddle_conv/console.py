"""What a run prints: messages once per multi-process run (rank 0), and how much of it.

The command-line tools are quiet by default (Paddle's known noise filtered where they start,
see ``tools/quiet.py``; one line per data-set fallback); ``--verbose`` calls
:func:`set_verbose` and shows everything, e.g. every download attempt of a data set.
"""

import paddle

_VERBOSE = False


def log(msg: str) -> None:
    """Print ``msg`` once (rank 0 of a multi-process run)."""
    if paddle.distributed.ParallelEnv().local_rank == 0:
        print(msg, flush=True)


def set_verbose(verbose: bool) -> None:
    """Show (True) or keep back (False, the default) the chatter of Paddle's helpers."""
    global _VERBOSE
    _VERBOSE = bool(verbose)


def verbose() -> bool:
    """Whether :func:`set_verbose` asked for everything."""
    return _VERBOSE
