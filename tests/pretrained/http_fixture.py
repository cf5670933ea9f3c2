"""A tiny HTTP server on 127.0.0.1 serving byte strings, for download tests without the internet.

It honours ``Range`` requests, can cut a response short (to test resuming) and can answer like
Google Drive's virus-scan warning page (to test the confirm step). ``routes`` serve hostile
answers (:func:`redirect`, :func:`endless`, :func:`drip`, :func:`lying`, :func:`compressed`):
each sends at most :data:`SERVER_CAP` bytes for at most :data:`SERVER_SECONDS`, so a client
without limits fails its test instead of filling the disk or hanging.
"""

import contextlib
import http.server
import re
import threading
import time
import zlib

SERVER_CAP = 8 << 20
SERVER_SECONDS = 10.0


def redirect(location, status=302):
    """Answer ``status`` with ``Location: location`` (``{port}`` is replaced by the server's port)."""
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Location", location.replace("{port}", str(handler.server.server_address[1])))
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    return answer


def _headers(handler, length=None, **extra):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/octet-stream")
    if length is not None:
        handler.send_header("Content-Length", str(length))
    for name, value in extra.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()


def endless(length=None):
    """Zeros without end (up to SERVER_CAP), announcing ``length`` bytes (None: no Content-Length)."""
    def answer(handler):
        _headers(handler, length)
        block = bytes(1 << 16)
        for _ in range(SERVER_CAP // len(block)):
            handler.wfile.write(block)
    return answer


def lying(data, length):
    """Announce ``length`` bytes, send ``data`` (shorter or longer), then close the connection."""
    def answer(handler):
        _headers(handler, length)
        handler.wfile.write(data)
        handler.close_connection = True
    return answer


def drip(interval, in_headers=False):
    """One byte every ``interval`` seconds: of the body (announced as 1 MiB) or of a header line."""
    def answer(handler):
        if in_headers:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
        else:
            _headers(handler, 1 << 20)
        end = time.monotonic() + SERVER_SECONDS
        while time.monotonic() < end:
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(interval)
    return answer


def compressed(encoding, size=64 << 20):
    """A body of ``size`` zeros compressed with ``encoding`` (``gzip``/``deflate``): a bomb."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
    body = packer.compress(bytes(size)) + packer.flush()

    def answer(handler):
        _headers(handler, len(body), Content_Encoding=encoding)
        handler.wfile.write(body)
    return answer


class FileServer:
    """Serve ``files`` (``{"/path": bytes}``); ``truncate_once`` cuts the first response of a path."""

    def __init__(self):
        self.files = {}
        self.truncate_once = {}
        self.drive_ids = {}
        self.pages = {}
        self.routes = {}
        self.requests = []

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    @contextlib.contextmanager
    def running(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        server.block_on_close = False  # a hostile route may still be dripping: its thread ends on its own
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def _handler(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Range")))
                path, _, query = self.path.partition("?")
                if path == "/uc":
                    return self._drive(query)
                if path in owner.pages:
                    return self._page(owner.pages[path])
                if path in owner.routes:
                    with contextlib.suppress(OSError):  # the client hung up: what a refusal does
                        owner.routes[path](self)
                    return
                data = owner.files.get(path)
                if data is None:
                    self.send_error(404)
                    return
                self._send(data, owner.truncate_once.pop(path, None))

            def _drive(self, query):
                params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                data = owner.files.get(owner.drive_ids.get(params.get("id")))
                if data is None:
                    self.send_error(404)
                elif params.get("confirm") != "t":
                    page = (b'<html><form id="download-form" action="/uc" method="get">'
                            b'<input type="hidden" name="id" value="%s">'
                            b'<input type="hidden" name="export" value="download">'
                            b'<input type="hidden" name="confirm" value="t"></form></html>') % params["id"].encode()
                    self._page(page)
                else:
                    self._send(data, None)

            def _page(self, page):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def _send(self, data, cut):
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match:
                    start = int(match.group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                self.wfile.write(body[:cut] if cut is not None else body)

        return Handler
