"""The one error path of every tool (``sys.exit(run_cli(main))``): bad input (a PaddleConvError, or an
OSError about a user's path or disk) is one ``error:`` line and exit 2; anything else is a bug: a
traceback, a line asking for a report, exit 1."""

import errno
import sys
import traceback

from .errors import PaddleConvError

#: Errors of a user's path or disk (not of paddle_conv): reported in one line, exit 2.
_INPUT_ERRNOS = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.EROFS,
                 errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP}
#: The longest error line printed (the last guard: values are abbreviated where messages are built).
MAX_MESSAGE = 2000
#: How a character that is not printable is written: ``\n``, ``\x1b``, ``\u2028``, ``\udcff``.
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(char):
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else
                                  f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def printable(text):
    """``text`` with backslashes and unprintable characters (newline, terminal escape, undecodable
    byte) escaped as ``repr`` does, so a printed file name can neither start a line nor pass for another."""
    text = str(text)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(char if char.isprintable() and char != "\\" else _escape(char) for char in text)


def one_line(message):
    """``message`` on one line (whitespace folded, unprintable characters escaped), cut at :data:`MAX_MESSAGE`."""
    text = " ".join(str(message).split())
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escape(char) for char in text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + f"... ({len(text)} characters)"


def print_error(exc):
    """Print ``exc`` as the one ``error:`` line of a tool on stderr; return the exit status 2."""
    print(f"error: {one_line(exc)}", file=sys.stderr, flush=True)
    return 2


def run_cli(main, argv=None):
    """``main(argv)``'s exit status (None: 0); 2 for bad input, 1 for a bug, 130 on Ctrl-C (module docstring)."""
    try:
        status = main(argv)
    except PaddleConvError as exc:
        return print_error(exc)
    except OSError as exc:
        if exc.errno not in _INPUT_ERRNOS:
            return _bug()
        where = f"{exc.filename!r}: " if exc.filename is not None else ""
        return print_error(f"{where}{exc.strerror or exc}; check the path and its permissions, or free disk space")
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C); a checkpoint being written was left as it was", file=sys.stderr,
              flush=True)
        return 130
    except Exception:
        return _bug()
    return 0 if status is None else int(status)


def _bug():
    traceback.print_exc()
    print("internal error: this is a bug in paddle_conv, not in your input; please report it with the "
          "command line and the traceback above", file=sys.stderr, flush=True)
    return 1
