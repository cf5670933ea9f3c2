"""What a run prints: messages on rank 0 only, and Paddle's chatter only with ``--verbose``."""

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
