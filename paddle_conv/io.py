"""Reading files other people made, and writing files all-or-nothing: the one place for both (SECURITY.md)."""

import contextlib
import errno
import io
import json
import os
import pickle
import re
import stat
import tempfile
from collections import OrderedDict, namedtuple

import numpy as np
import paddle
from paddle.framework.io import _ndarray_to_tensor, _parse_load_result
from paddle.framework.io_utils import _pack_loaded_dict

from .errors import ConfigError, DataError, OutputError, PaddleConvError, WeightsError, abbreviate

_NAME_TABLE = "StructuredToParameterName@@"  # paddle.save's {structured name: parameter name} table
_MAX_DEPTH = 32  # a state dict or optimizer state is two or three levels deep
_NUMERIC_KINDS = "biufc"


class UnsafePickleError(WeightsError):
    """A weights pickle refers to a global that a state dict never needs (it could run code)."""


def _refuse(what):
    raise UnsafePickleError(what)


def _checked_dtype(spec, align=False, copy=False):
    dtype = np.dtype(spec, align, copy)
    if dtype.hasobject:
        _refuse(f"an array of Python objects (dtype {dtype})")
    return dtype


class _NdarrayClass:
    """Stands for ``numpy.ndarray`` in a pickle: only :func:`_reconstruct` accepts it."""


def _reconstruct(subtype, shape, typecode):
    # NumPy pickles an array as _reconstruct(ndarray, (0,), b'b') then BUILD(state), which checks the data
    if not isinstance(subtype, _NdarrayClass) or not isinstance(shape, tuple) or 0 not in shape:
        _refuse("numpy _reconstruct called otherwise than NumPy pickles an array")
    return np.ndarray.__new__(np.ndarray, (0,), _checked_dtype(typecode))


def _frombuffer(buffer, dtype, shape, order):
    # Protocol 5: an array as _frombuffer(PickleBuffer, dtype, shape, order), data in-band.
    if not isinstance(buffer, (bytes, bytearray)) or not isinstance(dtype, np.dtype) or order not in "CF":
        _refuse("numpy _frombuffer called otherwise than NumPy pickles an array")
    return np.frombuffer(buffer, _checked_dtype(dtype)).reshape(shape, order=order)


def _scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or not isinstance(data, bytes):
        _refuse("numpy scalar called otherwise than NumPy pickles a number")
    return np.frombuffer(data, _checked_dtype(dtype), count=1)[0]


def _encode(text, encoding="utf-8"):
    # Protocols 0-2 write bytes as _codecs.encode(str, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        _refuse("_codecs.encode called otherwise than pickle writes bytes")
    return text.encode("latin1")


def _empty_bytes(*args):
    # Protocols 0-2 write b'' as bytes().
    if args:
        _refuse("bytes called with arguments")
    return b""


#: Every global a Paddle state dict's pickle may name, and what it becomes; anything else is refused.
_ALLOWED = {
    **{(module, "_reconstruct"): _reconstruct for module in ("numpy._core.multiarray", "numpy.core.multiarray")},
    **{(module, "scalar"): _scalar for module in ("numpy._core.multiarray", "numpy.core.multiarray")},
    **{(module, "_frombuffer"): _frombuffer for module in ("numpy._core.numeric", "numpy.core.numeric")},
    ("numpy", "ndarray"): _NdarrayClass(),
    ("numpy", "dtype"): _checked_dtype,
    ("collections", "OrderedDict"): OrderedDict,
    ("_codecs", "encode"): _encode,
    ("builtins", "bytes"): _empty_bytes,
    ("__builtin__", "bytes"): _empty_bytes,
}


class _StateUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except (KeyError, TypeError):
            _refuse(f"it refers to {f'{module}.{name}'[:80]}, which a state dict never does")

    def persistent_load(self, pid):
        _refuse("it refers to a persistent object (a PyTorch storage?), which a Paddle state dict never does")


def _check_plain(obj):
    """Raise WeightsError unless ``obj`` holds only containers, numbers, strings and numeric arrays."""
    stack, seen = [(obj, "", 0)], set()
    while stack:
        item, where, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise WeightsError(f"it is nested deeper than {_MAX_DEPTH} levels (at {abbreviate(where, 80)})")
        if id(item) in seen:
            continue
        if isinstance(item, (np.ndarray, np.generic)):
            if item.dtype.kind not in _NUMERIC_KINDS:
                raise WeightsError(f"it holds an array of dtype {item.dtype} at {abbreviate(where, 80)}, "
                                   "not numbers")
        elif isinstance(item, dict):
            seen.add(id(item))
            for key, value in item.items():
                if not isinstance(key, (str, int)):
                    raise WeightsError(f"it has a key of type {type(key).__name__} at {abbreviate(where, 80)}")
                stack.append((value, f"{where}[{key!r}]", depth + 1))
        elif isinstance(item, (list, tuple)):
            seen.add(id(item))
            stack.extend((value, f"{where}[{i}]", depth + 1) for i, value in enumerate(item))
        elif item is not None and not isinstance(item, (bool, int, float, complex, str, bytes)):
            raise WeightsError(f"it holds a {type(item).__name__} at {abbreviate(where, 80)}, "
                               "which a state dict never does")


def _as_paddle_load_returns(obj):
    """``obj`` (checked plain data) as ``paddle.load`` (Paddle 3.3) returns it: arrays become tensors."""
    if isinstance(obj, dict):
        obj = _pack_loaded_dict(obj)
        if _NAME_TABLE in obj:
            for key, name in obj.pop(_NAME_TABLE).items():
                if isinstance(obj.get(key), np.ndarray):
                    obj[key] = _ndarray_to_tensor(obj[key], return_numpy=False)
                    obj[key].name = name
            return obj
    return _parse_load_result(obj, return_numpy=False)


_MB, _GB = 1 << 20, 1 << 30
#: A kind of file read from a user's path: what messages call it, its most bytes, the error raised.
FileKind = namedtuple("FileKind", "noun limit error")

#: Every kind of file paddle_conv reads from a path a user gave, with its size bound (SECURITY.md).
FILE_KINDS = {
    "weights": FileKind("weights", 4 * _GB, WeightsError),  # .pdparams, .pdopt, .pth, .h5
    "exported model": FileKind("an exported model", 4 * _GB, WeightsError),  # inference.json / .pdiparams
    "archive": FileKind("a data archive", 4 * _GB, DataError),  # cifar-10-python.tar.gz
    "image": FileKind("an image", 512 * _MB, DataError),
    "list": FileKind("a list file", 1 * _GB, DataError),  # cls_label_path, VOC ImageSets
    "class map": FileKind("a class map", 64 * _MB, DataError),  # class_id_map_file, --class_names
    "annotation": FileKind("an XML annotation", 16 * _MB, DataError),
    "json": FileKind("a JSON file", 16 * _MB, WeightsError),  # latest.json, .commit, inference_config.json
    "config": FileKind("a config file", 16 * _MB, ConfigError),
}
#: The deepest nesting of arrays and objects a JSON file may have (ours are 3 levels deep).
MAX_JSON_DEPTH = 64
_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                (stat.S_ISSOCK, "a socket"))


def is_private(info):
    """Whether ``os.stat_result`` ``info`` is this user's and others cannot write to it (cache folders)."""
    return info.st_uid == os.geteuid() and not info.st_mode & 0o022


def file_size_text(size):
    """``size`` bytes for people: ``"3.1 GB"``, ``"64 MB"``, ``"12 bytes"``."""
    for unit, scale in (("GB", _GB), ("MB", _MB), ("kB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def _refused(path, kind, what, problem, where=""):
    """The error of ``kind`` saying that ``what`` at ``path`` (``where``: its list line, ...) ``problem``."""
    at = f" ({where})" if where else ""
    return FILE_KINDS[kind].error(f"{what or FILE_KINDS[kind].noun} {os.fspath(path)!r}{at} {problem}")


def _check_stat(st, path, kind, what, where):
    """``st.st_size``; the kind's error unless ``st`` is a regular file within the bound of ``kind``."""
    if not stat.S_ISREG(st.st_mode):
        name = next((name for test, name in _NOT_REGULAR if test(st.st_mode)), "not a file")
        link = f" (a symbolic link to {os.path.realpath(path)!r})" if os.path.islink(path) else ""
        fix = "give the file itself" if stat.S_ISDIR(st.st_mode) else \
            "paddle_conv reads regular files only (or a symbolic link to one): give the file itself"
        raise _refused(path, kind, what, f"is {name}{link}, not a regular file; {fix}", where)
    limit = FILE_KINDS[kind].limit
    if st.st_size > limit:
        raise _refused(path, kind, what, f"is {file_size_text(st.st_size)}, over the {file_size_text(limit)} limit "
                                         f"for {FILE_KINDS[kind].noun}; is it the right file?", where)
    return st.st_size


def _open_problem(exc):
    """What the OSError ``exc`` of opening a user's file means, and the fix."""
    if isinstance(exc, FileNotFoundError):
        return "does not exist; check the path"
    if isinstance(exc, PermissionError):
        return "cannot be read (permission denied); check its permissions"
    if exc.errno == errno.ELOOP:
        return "is a loop of symbolic links; give the file itself"
    return f"cannot be read ({abbreviate(exc.strerror or str(exc), 80)}); check the path"


def check_user_file(path, kind, what=None, where=""):
    """The size of ``path``, a regular file within the bound of ``kind`` (:data:`FILE_KINDS`), else
    the kind's error; for readers that open the path themselves (Paddle Inference, h5py, tarfile)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _refused(path, kind, what, _open_problem(exc), where) from None
    return _check_stat(st, path, kind, what, where)


def _open_checked(path, kind, what, where):
    """``(binary file, size)`` of ``path``: a FIFO or device refused before the (non-blocking) open,
    the descriptor checked again (what is read is what was checked)."""
    check_user_file(path, kind, what, where)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _refused(path, kind, what, _open_problem(exc), where) from None
    try:
        size = _check_stat(os.fstat(fd), path, kind, what, where)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    f = os.fdopen(fd, "rb")
    f.raw.name = os.fspath(path)  # what messages of readers of the stream (PyYAML) name
    return f, size


def open_user_file(path, kind, what=None, where=""):
    """``path`` opened for reading in binary, checked as :func:`check_user_file` says."""
    return _open_checked(path, kind, what, where)[0]


def read_user_bytes(path, kind, what=None, where=""):
    """The bytes of ``path`` (checked as :func:`open_user_file`); the kind's error if it grew since."""
    f, size = _open_checked(path, kind, what, where)
    with f:
        data = f.read(size + 1)
    if len(data) > size:
        raise _refused(path, kind, what, f"grew past the {file_size_text(size)} it had when opened while it was "
                                         "read; is something writing it?", where)
    return data


def read_user_text(path, kind, what=None, where=""):
    """The UTF-8 text of ``path`` (:func:`read_user_bytes`); a NUL byte counts as binary: refused."""
    data = read_user_bytes(path, kind, what, where)
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), data.index(b"\0") + 1, "NUL byte")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused(path, kind, what, f"is not a UTF-8 text file (a binary byte at offset {exc.start}); give "
                                         "a text file", where) from None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_JSON_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text):
    """How deeply arrays and objects nest in the JSON ``text`` (brackets inside strings ignored)."""
    brackets = np.frombuffer(_JSON_NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii"), np.uint8)
    if not brackets.size:
        return 0
    return int(np.cumsum(np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)).max())


def read_json(path, damaged, what="JSON file"):
    """The JSON document in ``path`` (UTF-8, nested at most :data:`MAX_JSON_DEPTH` levels); WeightsError
    ``damaged(exc)`` when it is not JSON."""
    data = read_user_bytes(path, "json", what)
    try:
        text = data.decode("utf-8")
    except ValueError as exc:
        raise WeightsError(damaged(exc)) from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise _refused(path, "json", what, f"is nested {depth} levels deep, more than {MAX_JSON_DEPTH}, the most "
                                           "a JSON file may be; is it the right file?")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise WeightsError(damaged(exc)) from None


def _read_bytes(path, what):
    data = read_user_bytes(path, "weights", what)
    if not data:
        raise WeightsError(f"{what} {os.fspath(path)!r} is empty (0 bytes): it was not written completely; "
                           "download or save it again")
    return data


def safe_paddle_load(path, what="checkpoint", fix="download it again or write it again with paddle.save"):
    """What ``paddle.load`` returns for the pickle ``path`` (protocols 0-5), never running code from it;
    ``what``: how messages call the file, ``fix``: what a corrupt file's message advises."""
    data = _read_bytes(path, what)
    if data.startswith(b"PK\x03\x04"):
        raise WeightsError(f"{what} {os.fspath(path)!r} is a zip archive (PyTorch's format), not a Paddle pickle; "
                           "convert a .pth with tools/convert_weights.py, or save with paddle.save")
    try:
        obj = _StateUnpickler(io.BytesIO(data), encoding="latin1").load()
        _check_plain(obj)
        return _as_paddle_load_returns(obj)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"refusing to load {what} {os.fspath(path)!r}: {exc}, and unpickling it could run "
                                "code; use weights from a source you trust, or re-save them with "
                                "paddle.save(model.state_dict(), path) where they were made") from None
    except WeightsError as exc:
        raise WeightsError(f"{what} {os.fspath(path)!r} is not a state dict or optimizer state: {exc}; "
                           "save model.state_dict() (or optimizer.state_dict()) with paddle.save") from None
    except Exception as exc:  # truncated, bit-flipped or foreign bytes
        raise WeightsError(f"cannot read {what} {os.fspath(path)!r} ({type(exc).__name__}: "
                           f"{(str(exc).splitlines() or [''])[0][:100]}); the file is "
                           f"truncated or corrupt (or not written by paddle.save): {fix}") from None


def safe_torch_load(path, what="checkpoint"):
    """``torch.load(path, map_location="cpu", weights_only=True)``; WeightsError naming the file otherwise."""
    import torch

    data = _read_bytes(path, what)  # missing, not a regular file, too big, unreadable or empty: one clear line
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        unpickling = isinstance(exc, pickle.UnpicklingError)
        found = unpickling and re.search(r"unsupported (?:global: )?GLOBAL ([\w.]+)", str(exc), re.I)
        if found:
            raise WeightsError(f"refusing to load {what} {os.fspath(path)!r}: it refers to {found.group(1)[:80]}, "
                               "which a state dict never does and which could run code; save the weights alone "
                               "with torch.save(model.state_dict(), path) where they were made") from None
        raise WeightsError(f"cannot read {what} {os.fspath(path)!r} "
                           f"({'not a pickle of tensors' if unpickling else type(exc).__name__}); it is truncated, "
                           "corrupt or not a PyTorch checkpoint: download it again, or save the weights alone "
                           "with torch.save(model.state_dict(), path)") from None


def temp_path(path):
    """A new empty temporary file beside ``path``: ``.<name>.<pid>.<random>.tmp`` (:func:`is_leftover`
    reads the pid), mode as ``path`` will have."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise _output_error(exc, path) from None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # replacing keeps the mode
    except OSError:  # a new file: as the umask says
        mask = os.umask(0o022)
        os.umask(mask)
        mode = 0o666 & ~mask
    os.fchmod(fd, mode)
    os.close(fd)
    return tmp


def is_leftover(tmp):
    """True if temporary file ``tmp`` (named by :func:`temp_path`) belongs to no living process."""
    parts = os.path.basename(tmp).split(".")
    try:
        pid = int(parts[-3])
    except (IndexError, ValueError):
        return True
    return pid == os.getpid() or not _alive(pid)


def _output_error(exc, path):
    """The OSError ``exc`` met while writing ``path``, as an OutputError naming the path and the fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        message = ("no space left on the device while writing {path!r}: nothing was replaced (the previous "
                   "file, if any, is intact); free disk space or point Global.output_dir to another disk, then "
                   "run again")
    elif isinstance(exc, IsADirectoryError) or os.path.isdir(path):
        message = "cannot write {path!r}: it is a directory; give a file name"
    elif isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        message = "cannot write {path!r}: permission denied (read-only?); choose a writable place"
    elif isinstance(exc, (NotADirectoryError, FileExistsError)):
        message = "cannot write {path!r}: a part of its folder path is a file, not a folder; choose another path"
    else:
        message = "cannot write {path!r}: " + abbreviate(exc.strerror or str(exc), 100) + "; choose another path"
    return OutputError(exc.errno or errno.EIO, message.format(path=path))


def write_synced(path, write):
    """Call ``write(tmp)`` for a temporary file beside ``path``, fsync it, return its path (removed on failure)."""
    tmp = temp_path(path)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise _output_error(exc, path) from exc
        raise
    return tmp


def _remove_quietly(path):
    with contextlib.suppress(OSError):
        os.remove(path)


def atomic_write(path, write):
    """Call ``write(tmp_path)`` then rename ``tmp_path`` onto ``path``; on failure ``path`` is left as it was."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise _output_error(IsADirectoryError(errno.EISDIR, "is a directory"), path)
    tmp = write_synced(path, write)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        _remove_quietly(tmp)
        raise _output_error(exc, path) from exc


def atomic_paddle_save(obj, path):
    """``paddle.save(obj, path)`` atomically."""
    atomic_write(path, lambda tmp: paddle.save(obj, tmp))


def json_writer(obj):
    """A ``write(tmp)`` for :func:`atomic_write` that writes ``obj`` as indented JSON."""
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, sort_keys=True)

    return write


def atomic_json_save(obj, path):
    """Write ``obj`` as JSON to ``path`` atomically."""
    atomic_write(path, json_writer(obj))


class RunLock:
    """``<folder>/.lock`` holding this process's id while a run writes into ``folder``; a lock whose
    process is gone (or is this one) is taken over, another living one's raises OutputError."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.path = os.path.join(self.folder, ".lock")

    def acquire(self):
        try:
            os.makedirs(self.folder, exist_ok=True)
        except OSError as exc:
            raise _output_error(exc, self.folder) from None
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                owner = self._owner()
                if owner is not None and owner != os.getpid() and _alive(owner):
                    raise OutputError(errno.EBUSY, f"another run (process {owner}) is writing into {self.folder!r} "
                                                   f"(lock file {self.path!r}); wait for it to finish or set "
                                                   "another Global.output_dir") from None
                _remove_quietly(self.path)  # stale: its process is gone
                continue
            except OSError as exc:
                raise _output_error(exc, self.path) from None
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            return self
        raise OutputError(errno.EBUSY, f"cannot take the lock file {self.path!r}; remove it if no run is writing "
                                       f"into {self.folder!r}")

    def _owner(self):
        try:
            with open_user_file(self.path, "json", "lock file") as f:  # a FIFO planted there: refused, not waited on
                return int(f.read(32).decode("ascii").strip())
        except (PaddleConvError, ValueError, UnicodeDecodeError):
            return None

    def release(self):
        if self._owner() == os.getpid():
            _remove_quietly(self.path)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
