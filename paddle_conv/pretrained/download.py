"""Fetch a published weights file into the cache: resumable, atomic, checksum-verified.

The cache is ``$PADDLE_CONV_HOME`` (default ``~/.cache/paddle_conv``); downloads land in its
``downloads/`` folder. A file is written as ``<name>.part`` and renamed only once complete and
verified, so the cache never holds a half-written file; an interrupted download resumes from
the ``.part`` with an HTTP ``Range`` request. A file whose checksum is wrong is moved aside
(``<name>.rejected``), never used, and the error shows both hashes.

    >>> path = fetch("https://example.org/w.pth", "w.pth", sha256="ab12...")
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Sequence

from ..errors import WeightsError

__all__ = ["cache_dir", "download_path", "fetch", "file_digest", "google_drive_url"]

_CHUNK = 1 << 20
_TIMEOUT_S = 30
_DRIVE_ID = re.compile(r"(?:/file/d/|[?&]id=)([0-9A-Za-z_-]{10,})")


def cache_dir() -> Path:
    """The cache root: ``$PADDLE_CONV_HOME`` or ``~/.cache/paddle_conv``."""
    return Path(os.environ.get("PADDLE_CONV_HOME") or Path.home() / ".cache" / "paddle_conv")


def download_path(filename: str) -> Path:
    """Where :func:`fetch` keeps ``filename`` (also where a user puts a file fetched by hand)."""
    if not filename or Path(filename).name != filename or filename in (".", ".."):
        raise WeightsError(f"weights file name {filename!r} must be a plain file name")
    return cache_dir() / "downloads" / filename


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def google_drive_url(url: str) -> str | None:
    """The direct-download address of a Google Drive share link, or None for other links."""
    host = urllib.parse.urlsplit(url).hostname or ""
    match = _DRIVE_ID.search(url)
    if not host.endswith("drive.google.com") or not match:
        return None
    return f"https://drive.google.com/uc?export=download&id={match.group(1)}"


def fetch(urls: Sequence[str] | str, filename: str, *, sha256: str | None = None, md5: str | None = None,
          progress: bool = True) -> Path:
    """Return the cached path of ``filename``, downloading it from the first ``urls`` that answers.

    A cached file is verified again (when a checksum is known) before it is returned. With no
    checksum known, the SHA-256 of the new file is printed for the user to pin.

    Raises:
        WeightsError: no URL could be reached (naming each URL and the path to put the file at), or
            the checksum is wrong (both hashes shown; the file is kept aside as ``*.rejected``).
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    dest = download_path(filename)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _locked(dest):
        if dest.exists():
            _verify(dest, sha256, md5, source="the cached file")
            return dest
        failures = []
        for url in urls:
            try:
                _download(url, dest.with_name(dest.name + ".part"), progress)
                break
            except (urllib.error.URLError, OSError, ValueError) as exc:
                failures.append(f"{url} ({_reason(exc)})")
        else:
            raise WeightsError(
                f"cannot download {filename}: {'; '.join(failures) or 'no URL is known'}. Without network "
                f"access, download it by hand and put it at {dest} (or pass pretrained='<path to the file>')")
        part = dest.with_name(dest.name + ".part")
        _verify(part, sha256, md5, source=urls[0], final=dest)
        os.replace(part, dest)
        if sha256 is None:
            print(f"sha256 of {dest.name}: {file_digest(dest)} (not pinned yet: record it to verify later "
                  "downloads)", file=sys.stderr)
    return dest


class _locked:
    """An exclusive lock on ``<dest>.lock``: two processes never write one cache file at once."""

    def __init__(self, dest: Path):
        self.path = dest.with_name(dest.name + ".lock")

    def __enter__(self):
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o666)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def _verify(path: Path, sha256: str | None, md5: str | None, *, source: str, final: Path | None = None):
    """Raise WeightsError (moving ``path`` aside) unless its digest equals the pinned one."""
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if not expected:
            continue
        actual = file_digest(path, algorithm)
        if not actual.startswith(expected.lower()):  # torchvision publishes the first 8 hex digits
            rejected = (final or path).with_name((final or path).name + ".rejected")
            os.replace(path, rejected)
            raise WeightsError(
                f"{algorithm} of {source} is {actual}, expected {expected}: the file is damaged or not the "
                f"published one. It was moved aside to {rejected} and not used; delete it and try again, or "
                "pass a file you trust with pretrained='<path>'")
        return


def _open(url: str, offset: int):
    request = urllib.request.Request(url, headers={"User-Agent": "paddle_conv"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    return urllib.request.urlopen(request, timeout=_TIMEOUT_S)


def _drive_confirm_url(url: str, page: bytes) -> str | None:
    """The confirmed download address from Google Drive's "can't scan for viruses" page."""
    text = page.decode("utf-8", "replace")
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', text, re.S)
    if form:
        fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
        action = urllib.parse.urljoin(url, html.unescape(form.group(1)))
        return f"{action}?{urllib.parse.urlencode(fields)}"
    token = re.search(r"confirm=([0-9A-Za-z_-]+)", text)
    if token:
        return f"{url}&confirm={token.group(1)}"
    return None


def _download(url: str, part: Path, progress: bool):
    """Append the bytes of ``url`` to ``part``, resuming where an earlier attempt stopped."""
    url = google_drive_url(url) or url
    offset = part.stat().st_size if part.exists() else 0
    response = _open(url, offset)
    if "text/html" in response.headers.get("Content-Type", ""):  # Google Drive's confirm page, or an error page
        confirmed = _drive_confirm_url(response.geturl(), response.read(1 << 16))
        response.close()
        if confirmed is None:
            raise ValueError("the server answered with a web page instead of the file (for Google Drive: the "
                             "download quota is exceeded or the link is private)")
        url = confirmed
        response = _open(url, offset)
    with response:
        if offset and response.status != 206:  # the server ignores Range: start over
            offset = 0
        total = response.headers.get("Content-Length")
        total = int(total) + offset if total is not None else None
        done, last = offset, 0.0
        with open(part, "ab" if offset else "wb") as out:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                done += len(chunk)
                if progress and time.monotonic() - last > 0.5:
                    last = time.monotonic()
                    _print_progress(part.name[:-len(".part")], done, total)
            out.flush()
            os.fsync(out.fileno())
    if total is not None and done < total:
        raise ValueError(f"connection closed after {done} of {total} bytes; run again to resume")
    if progress:
        _print_progress(part.name[:-len(".part")], done, total, end="\n")


def _print_progress(name: str, done: int, total: int | None, end: str = "\r"):
    mib = done / 2 ** 20
    of = f" / {total / 2 ** 20:.1f} MiB ({100 * done / total:.0f}%)" if total else " MiB"
    print(f"downloading {name}: {mib:.1f}{of}", end=end, file=sys.stderr, flush=True)
