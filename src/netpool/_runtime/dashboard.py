"""The live dashboard: the report page served from the manager, on 127.0.0.1 only.

A ``ThreadingHTTPServer`` (the standard library's) on a port the system picks, on the
loopback address only, so that nothing outside this machine can reach it; a random token
(24 bytes from ``os.urandom``) in its URL, printed once on stderr as Jupyter does, keeps out
the other users of the machine. Every request must carry ``?token=``; without it, or with a
wrong one, the answer is 403 and nothing else. Requests are served on the server's own
threads (``netpool-dashboard``); each draws the page from ``page()`` (``stats()`` and the
timeline, under the runtime's lock, so a request costs the loop a snapshot).

``GET /?token=T`` is the page, ``&part=main`` only its ``<main>`` (what the page's script
fetches every 2 s), ``/data.json?token=T`` the sections as JSON.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .. import report

log = logging.getLogger("netpool")

HOST = "127.0.0.1"


class _Throttled:
    """Each kind of answer made again only once ``COST_SHARE`` times its last cost has passed:
    a page of 10,000 bars costs a snapshot and some 0.1 s of CPU (and the manager's GIL),
    so however many tabs refresh, the dashboard takes at most about 1/COST_SHARE of a core."""

    COST_SHARE = 20

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._made: dict[str, tuple[float, bytes]] = {}  # kind -> (fresh until, body)

    def get(self, kind: str, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            now = self._clock()
            fresh, body = self._made.get(kind, (0.0, b""))
            if now >= fresh:
                body = make()
                self._made[kind] = (now + (self._clock() - now) * self.COST_SHARE, body)
            return body


class Dashboard:
    """Serving from construction until ``close()``; ``url`` has the token.

    Raises ``OSError`` if it cannot listen. ``page`` is called on the server's threads and
    returns ``(sections, dropped)`` as ``report.render`` takes them."""

    def __init__(self, page: Callable[[], tuple[list, int]], title: str = "netpool dashboard",
                 announce: bool = True) -> None:
        self.token = os.urandom(24).hex()
        token, cache = self.token.encode(), _Throttled()

        def make(kind: str) -> bytes:
            sections, dropped = page()
            if kind == "json":
                return json.dumps({"sections": sections, "dropped": dropped}).encode()
            if kind == "main":
                return report.main_part(sections, dropped).encode()
            return report.render(sections, title, live=True, dropped=dropped).encode()

        class Handler(BaseHTTPRequestHandler):
            server_version = "netpool"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                url = urlsplit(self.path)
                given = parse_qs(url.query).get("token", [""])[0].encode()
                if not hmac.compare_digest(given, token):
                    return self._send(403, "text/plain", b"403: this page needs its token\n")
                if url.path not in ("/", "/data.json"):
                    return self._send(404, "text/plain", b"404\n")
                kind = ("json" if url.path == "/data.json" else
                        "main" if parse_qs(url.query).get("part") == ["main"] else "page")
                try:
                    body = cache.get(kind, lambda: make(kind))
                except Exception:  # a snapshot that fails must not kill the server thread
                    log.exception("netpool: drawing the dashboard failed")
                    return self._send(500, "text/plain", b"500\n")
                self._send(200, "application/json" if kind == "json"
                           else "text/html; charset=utf-8", body)

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the URL has the token: never in a log

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.url = f"http://{HOST}:{self.port}/?token={self.token}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="netpool-dashboard")
        self._thread.start()
        if announce:
            print(f"netpool: dashboard at {self.url}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Stop serving (idempotent); waits for the server thread, not for open requests."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5.0)
        self._server.server_close()
