"""Fetch a published weights file into the cache: bounded, resumable, atomic, checksum-verified (docs/pretrained.md);
SECURITY.md ("Downloads") lists the rules a server cannot get round and the test proving each."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import html
import http.client
import math
import os
import re
import socket
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Sequence

from ..cli import one_line
from ..errors import WeightsError, abbreviate
from ..io import is_private

__all__ = ["DRIVE_HOSTS", "cache_dir", "download_limits", "download_path", "fetch", "file_digest",
           "google_drive_url", "set_aside", "source_digest", "url_file_name"]

#: The hosts whose web page may be Google Drive's confirm page, and the only hosts it may lead to.
DRIVE_HOSTS = frozenset({"drive.google.com", "drive.usercontent.google.com", "docs.google.com"})
#: Defaults of ``PADDLE_CONV_MAX_DOWNLOAD`` (bytes) and ``PADDLE_CONV_DOWNLOAD_TIMEOUT`` (seconds).
MAX_DOWNLOAD, DOWNLOAD_TIMEOUT = 4 << 30, 60.0
#: Redirects and confirm links followed for one file, at most.
MAX_HOPS = 10
_BLOCK = 1 << 16  # the unit of progress of the stall bound, and of reading
_PAGE = 1 << 16  # the most of a confirm page read
_DRIVE_ID = re.compile(r"(?:/file/d/|[?&]id=)([0-9A-Za-z_-]{10,})")


class _Refused(Exception):
    """A download stopped by one of the rules of SECURITY.md; the message says which."""


def cache_dir() -> Path:
    """The cache root: ``$PADDLE_CONV_HOME`` or ``~/.cache/paddle_conv``."""
    return Path(os.environ.get("PADDLE_CONV_HOME") or Path.home() / ".cache" / "paddle_conv")


def _url_list(urls: Sequence[str] | str) -> list:
    return [urls] if isinstance(urls, str) else list(urls)


def source_digest(urls: Sequence[str] | str, sha256: str | None = None, md5: str | None = None) -> str:
    """16 hex digits naming a file's source: the SHA-256 of all its URLs and checksums."""
    key = "\n".join([*_url_list(urls), f"sha256={sha256 or ''}", f"md5={md5 or ''}"])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def download_path(filename: str, urls: Sequence[str] | str, sha256: str | None = None,
                  md5: str | None = None) -> Path:
    """Where :func:`fetch` keeps ``filename`` from ``urls``: ``downloads/<stem>-<source digest><suffix>``."""
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        raise WeightsError(f"weights file name {filename!r} must be a plain file name")
    name = Path(filename)
    return cache_dir() / "downloads" / f"{name.stem}-{source_digest(urls, sha256, md5)}{name.suffix}"


def url_file_name(url: str) -> str:
    """A plain, readable cache file name from the last part of ``url``'s path (``weights`` if none)."""
    name = urllib.parse.unquote(os.path.basename(urllib.parse.urlsplit(url).path))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[-100:] or "weights"


def _shown_url(url: str) -> str:
    """``url`` for messages: ``user:password@`` replaced by ``***@``, cut to about 200 characters."""
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc:
        url = urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
    return abbreviate(url, 200)


def download_limits(size: int | None = None) -> tuple[int, str, float]:
    """``(byte cap, what sets it, stall seconds)`` from the environment and the catalogue's ``size``."""
    cap = _env_number("PADDLE_CONV_MAX_DOWNLOAD", MAX_DOWNLOAD, int, "a whole number of bytes, e.g. 4294967296")
    seconds = _env_number("PADDLE_CONV_DOWNLOAD_TIMEOUT", DOWNLOAD_TIMEOUT, float, "a number of seconds, e.g. 60")
    if size and size < cap:
        return size, f"the catalogue's size of the file, {size} bytes", seconds
    return cap, f"the {cap}-byte limit (PADDLE_CONV_MAX_DOWNLOAD)", seconds


def _env_number(name: str, default, kind, what: str):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < math.inf:
        raise WeightsError(f"{name}={abbreviate(text, 40)} is not {what} above 0; fix it or unset it for the "
                           f"default ({default:g})")
    return value


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def google_drive_url(url: str) -> str | None:
    """The direct-download address of a Google Drive share link, or None for other links."""
    match = _DRIVE_ID.search(url)
    if urllib.parse.urlsplit(url).hostname != "drive.google.com" or not match:
        return None
    return f"https://drive.google.com/uc?export=download&id={match.group(1)}"


def set_aside(path: Path, final: Path | None = None) -> Path:
    """Move a file that failed verification (a ``.part`` of ``final``) to ``<final name>.rejected``; return that."""
    aside = (final or path).with_name((final or path).name + ".rejected")
    os.replace(path, aside)
    return aside


def fetch(urls: Sequence[str] | str, filename: str, *, sha256: str | None = None, md5: str | None = None,
          size: int | None = None, progress: bool = True) -> Path:
    """The cached path of ``filename``, verified, downloaded from the first ``urls`` that answers if
    needed (``size``: the catalogue's size in bytes, a cap); WeightsError naming each URL and why."""
    urls = _url_list(urls)
    cap, cap_source, seconds = download_limits(size)
    dest = download_path(filename, urls, sha256, md5)
    part = dest.name + ".part"
    with _CacheFolder(dest.parent) as folder, folder.locked(dest.name + ".lock"):
        cached = folder.entry(dest.name)
        if cached is not None:
            problem = ("is not a regular file" if not stat.S_ISREG(cached.st_mode)
                       else _checksum_mismatch(dest, sha256, md5))
            if problem is None:
                return dest
            print(f"the cached {dest} {problem}: moved aside to {set_aside(dest)}, downloading it again",
                  file=sys.stderr)
        failures = []
        for url in urls:
            try:
                _download(url, folder, part, cap, cap_source, seconds, filename if progress else None)
                break
            except (_Refused, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                failures.append(f"{_shown_url(url)} ({_reason(exc)})")
        else:
            raise WeightsError(one_line(
                f"cannot download {filename}: {'; '.join(failures) or 'no URL is known'}. Without network "
                f"access, download it by hand and put it at {dest} (or pass pretrained='<path to the file>')"))
        problem = _checksum_mismatch(dest.with_name(part), sha256, md5)
        if problem is not None:
            aside = set_aside(dest.with_name(part), dest)
            raise WeightsError(f"the file from {_shown_url(url)} {problem}: it is damaged or not the "
                               f"published one. It was moved aside to {aside} and not used; the next call "
                               "downloads it again, or pass a file you trust with pretrained='<path>'")
        folder.replace(part, dest.name)
        if sha256 is None:
            print(f"sha256 of {dest.name}: {file_digest(dest)} (not pinned yet: record it to verify later "
                  "downloads)", file=sys.stderr)
    return dest


def _checksum_mismatch(path: Path, sha256: str | None, md5: str | None) -> str | None:
    """What is wrong with ``path``'s digest (both hashes), or None when it matches or none is pinned."""
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected:
            actual = file_digest(path, algorithm)  # torchvision publishes the first 8 hex digits
            return None if actual.startswith(expected.lower()) else f"has {algorithm} {actual}, expected {expected}"
    return None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Refused):
        return str(exc)
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}"


class _CacheFolder(contextlib.AbstractContextManager):
    """``downloads/``: this user's folder, others cannot write to it; files reached through its descriptor."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            raise WeightsError(f"the download cache {path} is not a folder ({exc.strerror}): remove it, or set "
                               "PADDLE_CONV_HOME to another folder") from None
        info = os.fstat(self.fd)
        if not is_private(info):
            os.close(self.fd)
            raise WeightsError(f"the download cache {path} belongs to another user or others can write to it "
                               f"(mode {info.st_mode & 0o777:o}): run chmod go-w on it, or set PADDLE_CONV_HOME "
                               "to a folder of your own")

    def __exit__(self, *exc):
        os.close(self.fd)

    def entry(self, name: str) -> os.stat_result | None:
        """``lstat`` of ``name`` in the folder, or None when there is nothing."""
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def remove(self, name: str):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def own_file(self, name: str) -> os.stat_result | None:
        """``lstat`` of ``name`` if it is a regular file with one link, else None (anything else there is removed)."""
        info = self.entry(name)
        if info is not None and not _plain(info):
            self.remove(name)
            return None
        return info

    def open(self, name: str, flags: int) -> int:
        """A descriptor of the plain regular file ``name`` (see :meth:`own_file`), never through a symlink."""
        self.own_file(name)
        fd = os.open(name, flags | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600, dir_fd=self.fd)
        if not _plain(os.fstat(fd)):  # swapped in since the check
            os.close(fd)
            raise WeightsError(f"{name} in the download cache is not a plain regular file")
        return fd

    def replace(self, name: str, new_name: str):
        os.replace(name, new_name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    @contextlib.contextmanager
    def locked(self, name: str):
        """An exclusive lock on ``name``: two processes never write one cache file at once."""
        fd = self.open(name, os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _plain(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode) and info.st_nlink == 1


class _Watchdog(contextlib.AbstractContextManager):
    """Shuts the connections down when ``seconds`` pass without progress; :meth:`stop` then raises."""

    def __init__(self, seconds: float):
        self.seconds, self.expired, self._sockets = seconds, False, []
        self._done = threading.Event()
        self.progress()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def progress(self):
        self._deadline = time.monotonic() + self.seconds

    def watch(self, sock: socket.socket) -> socket.socket:
        """Watch a new connection's socket (a duplicate: TLS takes the original over)."""
        self._sockets.append(sock.dup())
        if self.expired:
            sock.shutdown(socket.SHUT_RDWR)
        return sock

    def _watch(self):
        while not self._done.wait(min(0.1, self.seconds / 10)):
            if time.monotonic() > self._deadline:
                self.expired = True
                for sock in list(self._sockets):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                return

    def stop(self):
        self._done.set()
        self._thread.join()
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        if self.expired:
            raise _Refused(f"stalled: less than {_BLOCK // 1024} KiB arrived in {self.seconds:g} s "
                           "(PADDLE_CONV_DOWNLOAD_TIMEOUT); run again to resume")

    def __exit__(self, *exc):
        self.stop()


def _watched(connection_class, watchdog: _Watchdog):
    def connect(*args, **kwargs):
        connection = connection_class(*args, **kwargs)
        connection._create_connection = lambda *a, **k: watchdog.watch(socket.create_connection(*a, **k))
        return connection
    return connect


def _handlers(watchdog: _Watchdog):
    """urllib's http and https handlers, the socket of every connection watched by ``watchdog``."""

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_watched(http.client.HTTPConnection, watchdog), req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(_watched(http.client.HTTPSConnection, watchdog), req, context=self._context)

    return HTTPHandler(), HTTPSHandler()


def _next_hop(current: str | None, link: str) -> str:
    """``link`` made absolute against ``current``, if it may be followed: http(s), no https -> http."""
    url = urllib.parse.urljoin(current or "", link)
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise _Refused(f"{'refused link' if current else 'not a download address'} {_shown_url(url)}: only "
                       "http and https are followed")
    if current and scheme == "http" and urllib.parse.urlsplit(current).scheme.lower() == "https":
        raise _Refused(f"refused link from https to plain http {_shown_url(url)}")
    return url


def _drive_confirm_url(url: str, page: bytes) -> str | None:
    """The link of Google Drive's "can't scan for viruses" page, made absolute; None if it has none."""
    text = page.decode("utf-8", "replace")
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', text, re.S)
    if form:
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
        return f"{urllib.parse.urljoin(url, html.unescape(form.group(1)))}?{urllib.parse.urlencode(fields)}"
    token = re.search(r"confirm=([0-9A-Za-z_-]+)", text)
    return f"{url}&confirm={token.group(1)}" if token else None


def _open(url: str, offset: int, watchdog: _Watchdog):
    """The response holding the file at ``url`` (from byte ``offset``), redirects and Drive's page followed."""
    opener = urllib.request.OpenerDirector()  # no file:, ftp:, data: handlers; redirects are ours
    for handler in (urllib.request.ProxyHandler(), *_handlers(watchdog)):
        opener.add_handler(handler)
    url, seen = _next_hop(None, google_drive_url(url) or url), []
    while True:
        if url in seen or len(seen) > MAX_HOPS:
            raise _Refused(f"redirect loop: {_shown_url(url)} again" if url in seen else
                           f"more than {MAX_HOPS} redirects")
        seen.append(url)
        request = urllib.request.Request(url, headers={"User-Agent": "paddle_conv", "Accept-Encoding": "identity"})
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        watchdog.progress()
        response = opener.open(request, timeout=2 * watchdog.seconds)  # a backstop: the watchdog comes first
        if response.status in (301, 302, 303, 307, 308):
            response.close()
            url = _next_hop(url, response.headers.get("Location") or "")
            continue
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        refusal = (f"HTTP {response.status} {abbreviate(response.reason, 80)}"
                   if response.status not in (200, 206, 416) else
                   f"the server sent it compressed (Content-Encoding: {abbreviate(encoding, 40)}), which is refused: "
                   "weights are fetched as they are" if encoding not in ("", "identity") else None)
        page = refusal is None and response.status != 416 and "html" in response.headers.get_content_type()
        if refusal is None and not page:
            return response
        drive_page = page and urllib.parse.urlsplit(url).hostname in DRIVE_HOSTS
        confirm = _drive_confirm_url(url, response.read(_PAGE)) if drive_page else None
        response.close()
        if confirm is None:
            raise _Refused(refusal or "the server answered with a web page instead of the file (for Google Drive: "
                                      "the download quota is exceeded or the link is private)")
        url = _next_hop(url, confirm)
        if urllib.parse.urlsplit(url).hostname not in DRIVE_HOSTS:
            raise _Refused(f"Google Drive's page links to {_shown_url(url)}, not to a Google Drive host: refused")


def _download(url: str, folder: _CacheFolder, part: str, cap: int, cap_source: str, seconds: float,
              name: str | None):
    """Append the bytes of ``url`` to ``part`` in ``folder``, resuming (``name``: shown on the progress line)."""
    info = folder.own_file(part)
    offset = info.st_size if info is not None else 0
    done, total, shown = offset, None, 0.0
    with _Watchdog(seconds) as watchdog:
        response = _open(url, offset, watchdog)
        with response:
            if watchdog.expired:  # the headers were cut short
                watchdog.stop()
            if response.status == 416:
                folder.remove(part)
                raise _Refused("the server cannot resume the earlier partial download (HTTP 416); it was deleted: "
                               "run again")
            if offset and not response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                offset = done = 0  # the server sends the whole file (or another part): start over
            total = None if response.length is None else offset + response.length
            if total is not None and total > cap:
                raise _Refused(f"the server announces {total} bytes, over {cap_source}")
            if not offset:
                folder.remove(part)  # whatever is there (a symlink, a FIFO) is removed, never followed
            flags = os.O_WRONLY | (os.O_APPEND if offset else os.O_CREAT | os.O_EXCL)
            with os.fdopen(folder.open(part, flags), "ab" if offset else "wb") as out:
                try:
                    while chunk := response.read(min(_BLOCK, cap + 1 - done)):
                        done += len(chunk)
                        if done > cap:
                            folder.remove(part)
                            raise _Refused(f"the body grew past {cap_source}: stopped, and the part deleted")
                        out.write(chunk)
                        watchdog.progress()
                        if name and time.monotonic() - shown > 0.5:
                            shown = time.monotonic()
                            _print_progress(name, done, total)
                    watchdog.stop()  # raises if the body ended because the watchdog cut it
                    out.flush()
                    os.fsync(out.fileno())
                finally:
                    if shown:
                        _print_progress(name, done, total, end="\n")
    if total is not None and done < total:
        raise _Refused(f"connection closed after {done} of {total} bytes; run again to resume")


def _print_progress(name: str, done: int, total: int | None, end: str = "\r"):
    mib = done / 2 ** 20
    of = f" / {total / 2 ** 20:.1f} MiB ({100 * done / total:.0f}%)" if total else " MiB"
    print(f"downloading {name}: {mib:.1f}{of}", end=end, file=sys.stderr, flush=True)
