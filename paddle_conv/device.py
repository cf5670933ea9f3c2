"""Which device a run uses: ``Global.device`` = ``auto`` (the first GPU this Paddle build sees, else the
CPU) | ``cpu`` | ``gpu`` (``gpu:0``) | ``gpu:N``; a GPU this build cannot use is a ConfigError."""

import platform
import re

from .errors import ConfigError

__all__ = ["DEVICE_PATTERN", "available_device", "cpu_model", "resolve_device", "set_device"]

#: The values ``Global.device`` accepts.
DEVICE_PATTERN = re.compile(r"auto|cpu|gpu(:\d+)?")


def _gpu_count():
    """GPUs this Paddle build can use: 0 on a build without CUDA."""
    import paddle  # here, so that the config schema can import DEVICE_PATTERN without Paddle

    return paddle.device.cuda.device_count() if paddle.device.is_compiled_with_cuda() else 0


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``), or the platform's processor string."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return cpu


def available_device():
    """``"gpu"`` when this Paddle build has CUDA and sees a GPU, else ``"cpu"``."""
    return "gpu" if _gpu_count() > 0 else "cpu"


def resolve_device(spec, key="Global.device"):
    """The concrete Paddle device (``"cpu"`` or ``"gpu:N"``) for ``spec``; ConfigError naming
    ``key`` when ``spec`` is malformed or names a GPU this build cannot use."""
    spec = str(spec).strip().lower()
    if not DEVICE_PATTERN.fullmatch(spec):
        raise ConfigError(f"{key}: {spec!r} is not a device; use auto, cpu, gpu or gpu:N (N = 0, 1, ...)")
    count = _gpu_count()
    if spec == "auto":
        return "gpu:0" if count > 0 else "cpu"
    if spec == "cpu":
        return spec
    index = int(spec.partition(":")[2] or 0)
    if count == 0:
        raise ConfigError(f"{key}: cannot use {spec!r} with this Paddle build (no CUDA, or no GPU visible); "
                          f"use -o {key}=auto (or cpu), or install paddlepaddle-gpu on a machine with a GPU")
    if index >= count:
        raise ConfigError(f"{key}: cannot use {spec!r}: this machine has {count} GPU(s), gpu:0..gpu:{count - 1}; "
                          f"use -o {key}=gpu:0 or auto")
    return f"gpu:{index}"


def set_device(name):
    """Use and print ``Global.device`` ``name``; return the concrete device (``cpu`` or ``gpu:N``)."""
    import paddle  # here, as in _gpu_count

    from .console import log

    device = resolve_device(name)
    try:
        paddle.set_device(device)
    except ValueError as exc:
        raise ConfigError(f"Global.device: cannot use {name!r} with this Paddle build ({exc}); "
                          "use -o Global.device=cpu or install paddlepaddle-gpu") from exc
    log(f"device: {device} (Global.device: {name})")
    return device
