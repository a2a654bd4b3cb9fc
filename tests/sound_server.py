"""A loopback HTTP server that plays a TikTok sound CDN, with the failures the fetcher must survive.

Routes: ``/sounds/NAME`` serves ``folder/NAME``; ``/slow/SECONDS/NAME`` waits first;
``/status/CODE`` answers CODE; ``/flaky/NAME`` answers 500 once per name, then serves;
``/html`` serves a web page; ``/big`` streams more than the cap without a length;
``/huge`` declares a length over the cap; ``/redirect?to=URL`` answers 302.
``hits`` counts requests per path.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


class SoundServer:
    def __init__(self, folder: Path, host: str = "127.0.0.1"):
        self.folder = Path(folder)
        self.hits: collections.Counter = collections.Counter()
        self._flaked: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                server.hits[parts.path] += 1
                segments = parts.path.strip("/").split("/")
                try:
                    server._route(self, segments, parse_qs(parts.query))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}/{path.lstrip('/')}"

    def _route(self, h, segments, query):
        kind = segments[0]
        if kind == "sounds":
            self._file(h, segments[1])
        elif kind == "slow":
            time.sleep(float(segments[1]))
            self._file(h, segments[2])
        elif kind == "status":
            self._answer(h, int(segments[1]), b"no", "text/plain")
        elif kind == "flaky":
            if segments[1] not in self._flaked:
                self._flaked.add(segments[1])
                self._answer(h, 500, b"busy", "text/plain")
            else:
                self._file(h, segments[1])
        elif kind == "html":
            self._answer(h, 200, b"<!doctype html><title>Login</title>", "text/html")
        elif kind == "big":
            h.send_response(200)
            h.send_header("Content-Type", "audio/mpeg")
            h.end_headers()
            h.wfile.write(b"ID3" + b"\0" * (64 * 1024))
            for _ in range(int(query.get("chunks", ["400"])[0])):
                h.wfile.write(b"\0" * 64 * 1024)
        elif kind == "huge":
            h.send_response(200)
            h.send_header("Content-Type", "audio/mpeg")
            h.send_header("Content-Length", str(10**12))
            h.end_headers()
            h.wfile.write(b"ID3")
        elif kind == "redirect":
            h.send_response(302)
            h.send_header("Location", query["to"][0])
            h.send_header("Content-Length", "0")
            h.end_headers()
        else:
            self._answer(h, 404, b"", "text/plain")

    def _file(self, h, name):
        path = self.folder / name
        if "/" in name or not path.is_file():
            return self._answer(h, 404, b"", "text/plain")
        self._answer(h, 200, path.read_bytes(), "audio/mpeg")

    @staticmethod
    def _answer(h, code, body, kind):
        h.send_response(code)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def serving(folder: Path, host: str = "127.0.0.1"):
    with SoundServer(folder, host) as server:
        yield server
