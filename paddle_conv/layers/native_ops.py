"""Building and loading the package's C++ custom operators (``layers/native/*.cc``) on first use.

Each library is compiled (``paddle.utils.cpp_extension.load``) into ``$PADDLE_CONV_HOME/ops/<name>-paddle<version>/``
(default ``~/.cache/paddle_conv/ops/``), a folder of this user that others cannot write to, once per source,
headers and Paddle version, under a file lock, with one ``note:`` line; later processes register the built
library from there (milliseconds). ``PADDLE_CONV_NATIVE_OPS=0`` turns every operator off (Paddle's kernels).
"""

import contextlib
import fcntl
import hashlib
import os
import stat
import sys
from pathlib import Path

import paddle

from ..io import is_private
from ..notes import note_once

__all__ = ["LIBS", "NATIVE_OPS_ENV", "SOURCES", "build_library", "built_and_checked", "native_ops_enabled",
           "output_and_gradients"]

#: ``PADDLE_CONV_NATIVE_OPS=0`` turns the custom operators off (Paddle's kernels everywhere).
NATIVE_OPS_ENV = "PADDLE_CONV_NATIVE_OPS"
#: The folder of the operators' C++ sources.
SOURCES = Path(__file__).with_name("native")
#: Paddle's wheel's libraries (``libdnnl.so.3``, ``libmklml_intel.so``) the operators link to.
LIBS = Path(paddle.__file__).parent / "libs"
_CFLAGS = ["-O3"]


def native_ops_enabled():
    """Whether the custom operators may be used (``PADDLE_CONV_NATIVE_OPS`` is not ``0``; read at every call)."""
    return os.environ.get(NATIVE_OPS_ENV) != "0"


def _private_folder(path):
    """Create ``path`` (mode 0700) and say whether it is a real folder of this user that no one
    else can write to, nor any folder between it and the cache root."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in (path, path.parent):
        info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode) or not is_private(info):
            return False
    return True


@contextlib.contextmanager
def _output_to(log_path):
    """Send this process's stdout and stderr, file descriptors and Python streams (the compiler's
    and setuptools' chatter), to a file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log_path, "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


def build_library(name, what, include_dirs=(), ldflags=()):
    """Compile ``native/<name>.cc`` into the cache (module docstring) and register its operators; False
    (with a note naming ``what`` is used instead) where the folder is not private. Build errors raise."""
    from paddle.utils import cpp_extension

    from ..pretrained.download import cache_dir  # the cache root; imported only when a build is due

    folder = cache_dir() / "ops" / f"{name}-paddle{paddle.__version__}"
    if not _private_folder(folder):
        note_once(name, f"{folder} belongs to another user or others can write to it: {what} is used")
        return False
    source = SOURCES / f"{name}.cc"
    library, stamp = folder / name / f"{name}.so", folder / "built-from.sha256"
    headers = b"".join(h.read_bytes() for h in sorted(SOURCES.glob("*.h")))
    digest = hashlib.sha256(source.read_bytes() + headers + "".join(map(str, [*include_dirs, *_CFLAGS])).encode())
    digest = digest.hexdigest()
    with open(folder / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if library.is_file() and stamp.is_file() and stamp.read_text() == digest:
            cpp_extension.load_op_meta_info_and_register_op(str(library))  # no setuptools run: 2 s less
            return True
        note_once(name, f"building the {name} operator once into {folder} (about 30 s)")
        with _output_to(folder / "build.log"):
            cpp_extension.load(name=name, sources=[str(source)], extra_include_paths=[str(d) for d in include_dirs],
                               extra_cxx_cflags=_CFLAGS, extra_ldflags=list(ldflags), build_directory=str(folder),
                               verbose=False)
        stamp.write_text(digest)
    return True


def built_and_checked(name, what, agrees, include_dirs=(), ldflags=()):
    """Whether operator ``name`` is on, built, registered and ``agrees()`` with ``what`` (Paddle's kernels it
    replaces); where not, one note says why (``what`` is used instead)."""
    if not native_ops_enabled():
        return False
    try:
        if not build_library(name, what, include_dirs, ldflags):
            return False
        with paddle.enable_grad():  # the first call may come from a forward under paddle.no_grad (an evaluation)
            if agrees():
                return True
        problem = f"its results differ from {what}"
    except Exception as exc:  # no compiler, a failed build or load: Paddle's kernels it is
        problem = f"it could not be built ({type(exc).__name__})"
    note_once(f"{name}.failed", f"the {name} operator is not used: {problem}; {what} is used")
    return False


@paddle.enable_grad()  # the first check may come from a forward under paddle.no_grad (an evaluation)
def output_and_gradients(fn, *inputs):
    """``[y, *grads]`` as arrays: ``y = fn(*inputs)`` and the inputs' gradients of ``sum(y * (1 + arange))`` (a
    weight per element, so that a gradient sent to the wrong pixel shows). The operators' self-checks use it."""
    leaves = [t.detach() for t in inputs]
    for t in leaves:
        t.stop_gradient = False
    y = fn(*leaves)
    (y * (1 + paddle.arange(y.size, dtype=y.dtype).reshape(y.shape))).sum().backward()
    return [y.numpy()] + [t.grad.numpy() for t in leaves]
