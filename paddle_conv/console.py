"""What a run prints: messages once per multi-process run (rank 0)."""

import paddle


def log(msg: str) -> None:
    """Print ``msg`` once (rank 0 of a multi-process run)."""
    if paddle.distributed.ParallelEnv().local_rank == 0:
        print(msg, flush=True)
