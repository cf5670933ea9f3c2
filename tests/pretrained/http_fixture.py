"""A tiny HTTP server on 127.0.0.1 serving byte strings, for download tests without the internet.

It honours ``Range`` requests, can cut a response short (to test resuming) and can answer like
Google Drive's virus-scan warning page (to test the confirm step).
"""

import contextlib
import http.server
import re
import threading


class FileServer:
    """Serve ``files`` (``{"/path": bytes}``); ``truncate_once`` cuts the first response of a path."""

    def __init__(self):
        self.files = {}
        self.truncate_once = {}
        self.drive_ids = {}
        self.pages = {}
        self.requests = []

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    @contextlib.contextmanager
    def running(self):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
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
