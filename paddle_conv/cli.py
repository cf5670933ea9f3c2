"""The one error path of every command-line tool in ``tools/``.

    if __name__ == "__main__":
        sys.exit(run_cli(main))

Bad input (a :class:`~paddle_conv.errors.PaddleConvError`, or an OSError about a user's path:
missing, a directory, no permission, a full disk) prints exactly one ``error: ...`` line on
stderr and exits 2. Any other exception is a bug of paddle_conv: its traceback is printed,
then one line asking for a bug report, and the exit status is 1.
"""

import errno
import sys
import traceback

from .errors import PaddleConvError

#: Errors of a user's path or disk (not of paddle_conv): reported in one line, exit 2.
_INPUT_ERRNOS = {errno.ENOENT, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM, errno.EROFS,
                 errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP}
#: The longest error line printed; a longer message is cut (values in messages are abbreviated
#: where they are built, this is the last guard).
MAX_MESSAGE = 2000


#: How a character that is not printable is written: ``\n``, ``\x1b``, ``\u2028``, ``\udcff``.
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(char):
    code = ord(char)
    return _ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else
                                  f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def printable(text):
    """``text`` with every backslash and every character that is not printable (a newline, a
    terminal escape, an undecodable byte of a file name) written as a backslash escape, as
    ``repr`` does: a file name printed by a tool can neither start a line of its own nor pass for
    another name. Printable text (any script) is returned as it is."""
    text = str(text)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(char if char.isprintable() and char != "\\" else _escape(char) for char in text)


def one_line(message):
    """``message`` on one line (whitespace runs, newlines included, folded to a space; other characters
    that are not printable escaped), at most :data:`MAX_MESSAGE` characters."""
    text = " ".join(str(message).split())
    if not text.isprintable():
        text = "".join(char if char.isprintable() else _escape(char) for char in text)
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + f"... ({len(text)} characters)"


def print_error(exc):
    """Print ``exc`` as the one ``error:`` line of a tool on stderr; return the exit status 2."""
    print(f"error: {one_line(exc)}", file=sys.stderr, flush=True)
    return 2


def run_cli(main, argv=None):
    """Run ``main(argv)`` and return its exit status (0 when it returns None).

    Returns 2 after one ``error:`` line for bad input, 1 after a traceback for a bug, 130 on
    Ctrl-C. ``SystemExit`` (argparse's usage errors, exit 2) passes through.
    """
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
