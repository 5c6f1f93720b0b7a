"""Status clients (``netpool status HOST:PORT``): read-only peers on the manager's own port.

A status client passes the same HMAC challenge as a worker and says ``role = "status"`` in
its HELLO. Admission hands its link here at once: it never gets a worker record, never
reaches the core, and so is never counted as a worker or sent a task. Its only request is
``(STATUS,)``; the answer is ``(SNAPSHOT, json text of stats())``.

The links are served by one thread of their own (started with the first client), never by
the loop thread: a slow or silent client costs that thread a bounded send, not the loop.
Snapshots are taken at most every ``MIN_GAP`` seconds whatever the number of clients or
how fast they ask, so status clients cannot load the runtime's lock.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import threading
import time
from typing import Any, Callable, Optional

from .._protocol import messages as M
from .._protocol import shapes
from .._transport.channel import set_io_timeouts
from .._transport.handshake import finish
from ..errors import ProtocolError
from . import forks

log = logging.getLogger("netpool")

MAX_CLIENTS = 32    # status links open at once; more are refused (logged)
MIN_GAP = 0.05      # seconds between two snapshots taken for status clients
SEND_TIMEOUT = 5.0  # a client that stops reading is dropped after this


class StatusLinks:
    """The status links of one runtime. ``add`` and ``close``: any thread."""

    def __init__(self, stats: Callable[[], dict]) -> None:
        self._stats = stats
        self._sel: Optional[selectors.BaseSelector] = None
        self._lock = threading.Lock()
        self._closed = False
        self._last: tuple[float, str] = (0.0, "")
        self._thread: Optional[threading.Thread] = None
        self._early: list = []  # (channel, requests read with its HELLO), for the thread
        self._wake_r = self._wake_w = -1

    def add(self, chan: Any, peer: Any = None) -> None:
        """Serve an authenticated status link (its HELLO said role ``status``)."""
        with self._lock:
            if self._closed or (self._sel is not None and len(self._sel.get_map()) > MAX_CLIENTS):
                log.warning("netpool: refused status client from %s: %s", peer,
                            "shutting down" if self._closed else f"{MAX_CLIENTS} already open")
                chan.close()
                return
            finish(chan)  # blocking reads, handshake-sized frames: a request is tiny
            set_io_timeouts(chan.sock, None, SEND_TIMEOUT)
            if self._sel is None:
                forks.own(self)  # a forked child closes its copies of the links (_disown)
                self._sel = selectors.DefaultSelector()
                self._wake_r, self._wake_w = os.pipe()
                self._sel.register(self._wake_r, selectors.EVENT_READ, None)
                self._thread = threading.Thread(target=self._serve, name="netpool-status",
                                                daemon=True)
                self._thread.start()
            early = chan.take_buffered()
            if early:  # answered by the thread: here, on the loop thread, stats() would wait
                self._early.append((chan, early))  # for the lock this thread holds
                os.write(self._wake_w, b"x")
            self._sel.register(chan.sock, selectors.EVENT_READ, chan)
        log.info("netpool: status client connected from %s", peer)

    def count(self) -> int:
        """Status links open now (none of them is a worker)."""
        with self._lock:
            return len(self._sel.get_map()) - 1 if self._sel is not None else 0

    def _disown(self) -> None:
        """In a forked child (no lock: a parent's thread may have held it): close the copies,
        so that a status client sees its link close when the manager closes it."""
        sel, self._sel, self._closed = self._sel, None, True
        self._close_links(sel)

    def close(self) -> None:
        forks.release(self)
        with self._lock:
            self._closed = True
            sel, self._sel = self._sel, None
        self._close_links(sel)

    def _close_links(self, sel) -> None:
        """Close every status link and the wake-up pipe (once: ``sel`` is None after)."""
        if sel is not None:
            for key in list(sel.get_map().values()):
                if key.data is not None:
                    key.data.close()
            sel.close()
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            self._wake_r = self._wake_w = -1

    # -- the status thread -------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            with self._lock:
                sel = self._sel
            if sel is None:
                return
            try:
                ready = sel.select(0.5)
            except (OSError, ValueError):  # closed under us
                return
            for key, _ in ready:
                if key.data is None:
                    self._answer_early(sel, key.fd)
                else:
                    self._answer(sel, key.data)

    def _answer_early(self, sel: selectors.BaseSelector, fd: int) -> None:
        os.read(fd, 512)
        with self._lock:
            early, self._early = self._early, []
        for chan, msgs in early:
            self._answer(sel, chan, msgs)

    def _answer(self, sel: selectors.BaseSelector, chan: Any, early: Optional[list] = None) -> None:
        try:
            for msg, _ in early if early is not None else chan.recv_ready():
                if msg[0] != M.STATUS:
                    raise ProtocolError(f"a status client sent message type {msg[0]!r}")
                shapes.check_bare(msg, "STATUS")
                chan.send((M.SNAPSHOT, self._snapshot()))
        except Exception as exc:  # closed, silent past the send timeout, or not a status client
            if not isinstance(exc, EOFError):
                log.info("netpool: dropped a status client: %s: %s", type(exc).__name__, exc)
            with self._lock:
                try:
                    sel.unregister(chan.sock)
                except (KeyError, ValueError, OSError):
                    pass
            chan.close()

    def _snapshot(self) -> str:
        now = time.monotonic()
        taken, text = self._last
        if now - taken >= MIN_GAP or not text:
            text = json.dumps(self._stats())
            self._last = (now, text)
        return text
