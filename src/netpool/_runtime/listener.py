"""Accepting workers without ever blocking the loop thread, or letting anyone starve admission.

One thread accepts; each accepted socket gets a short-lived thread for the handshake. Nobody
can hold admission hostage by connecting and then stalling (silently, or one byte a second):

* every step of a handshake that waits on the peer has a deadline (``DEADLINE``), enforced
  by the accept thread, which shuts the socket down under a handshake thread that is still
  reading past it. There are three steps (answer our challenge, challenge us, send HELLO),
  and the clock restarts only when one is done: a peer without the key never gets past the
  first, so it is held ``DEADLINE`` at most, as before; a peer with the key is held at most
  three times that. Why not one total deadline: on a starved machine (hundreds of workers
  starting on two cores) an honest worker's three round trips can take longer than
  ``DEADLINE`` in all while each one is well within it, and cutting it wastes its start;
* the deadline is the peer's, not ours: a handshake past it whose peer's bytes wait unread
  (its handshake thread, starved of CPU, has not read them yet) gets a fresh one instead of
  being cut. Measured in a storm of 256 real workers and their supervisors on 2 cores (load
  60-130): the manager cut a dozen such handshakes in one pass, all of them complete, and
  each cut heartbeat link cost its worker (the supervisor sent its HELLO, saw its link
  close, and stopped the worker);
* at most ``MAX_PENDING`` handshakes run at once, at most ``PER_PEER`` from one address;
* when full, a new connection cuts the oldest pending handshake that has had ``GRACE``
  seconds (a real worker's takes milliseconds), from the address with the most pending, or
  from its own address when that one is at its limit; if every pending one is younger, it
  waits, in arrival order, for a slot.

So a real worker joins at once while fewer than ``PER_PEER`` stalled connections from its
address are open, and within about ``GRACE`` seconds however many are. Refusals are logged with the peer's address. Only an authenticated HELLO reaches the
loop.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import sys
import threading
import time
from collections import Counter, deque
from typing import Callable, Optional

from .._transport.handshake import HANDSHAKE_TIMEOUT, server_handshake
from . import forks

log = logging.getLogger("netpool")

# A stalled handshake costs a thread until its deadline, so there are enough slots that
# stalled connections rarely fill them, and when they do, the oldest is cut. Local workers,
# and all the workers behind one NAT, share one address, and a join storm of a few hundred
# workers and their supervisors on a loaded machine takes seconds: one address may hold
# three quarters of the slots, and a handshake is cut to make room only after GRACE.
MAX_PENDING = 1024  # handshakes at once (one thread each)
PER_PEER = 768      # ... from one address
MAX_WAITING = 4096  # accepted connections waiting for a handshake slot
DEADLINE = 10.0     # seconds from accept to an authenticated HELLO, in all
GRACE = 2.0         # a handshake younger than this is never cut to make room
BACKLOG = 1024      # the kernel's queue of connections not yet accepted (a join storm)


def bind(host: str, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host`` (a name or address), any free port by default."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(addr)
    sock.listen(BACKLOG)
    return sock


def bind_local() -> Optional[tuple[socket.socket, str]]:
    """A listening AF_UNIX socket for the workers forked on this machine, and its address as
    workers are told it (``@name``: Linux's abstract namespace, no file to clean up), or
    None where there is none (not Linux). Why: on loopback TCP a send runs the receiver's
    TCP stack inline, and every round trip pays that twice. Anyone on this host who can
    reach the name must still pass the HMAC challenge, as on the loopback port."""
    if not sys.platform.startswith("linux"):
        return None
    name = "netpool-" + os.urandom(12).hex()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind("\0" + name)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        return None
    return sock, "@" + name


class Acceptor:
    """Runs the accept thread; calls ``on_hello(channel, hello, peer)`` for each
    authenticated peer, on that peer's handshake thread. ``local``: a second listening
    socket (``bind_local``), accepted from alike, and closed with this one."""

    def __init__(self, sock: socket.socket, authkey: bytes,
                 on_hello: Callable, timeout: float = HANDSHAKE_TIMEOUT,
                 deadline: float = DEADLINE, local: Optional[socket.socket] = None) -> None:
        self.sock, self.local = sock, local
        self.authkey = authkey
        self.on_hello = on_hello
        self.timeout = min(timeout, deadline)  # each read's bound; the deadline is the total's
        self.deadline = deadline
        self._lock = threading.Lock()
        # -> (accepted at, address, current step started at)
        self._pending: dict[socket.socket, tuple[float, str, float]] = {}
        self._per_peer: Counter = Counter()
        self._waiting: deque = deque()  # (socket, peer, accepted at)
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="netpool-accept",
                                        daemon=True)
        self._thread.start()
        forks.own(self)

    def _disown(self) -> None:
        """In a forked child (forks.py): close its copies of the handshaking sockets."""
        for conn in list(self._pending) + [c for c, _, _ in list(self._waiting)]:
            conn.close()
        if self.local is not None:
            self.local.close()

    def close(self) -> None:
        forks.release(self)
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        except OSError:
            pass
        self.sock.close()
        if self.local is not None:
            self.local.close()

    def pending(self) -> int:
        """Handshakes running or waiting now (for tests and diagnostics)."""
        return len(self._pending) + len(self._waiting)

    # -- the accept thread -------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed:
            wait = self._expire(time.monotonic())
            try:
                listening = [self.sock] if self.local is None else [self.sock, self.local]
                readable, _, _ = select.select(listening, [], [], wait)
                if not readable:
                    continue
                conn, peer = readable[0].accept()
                peer = peer or "this host (AF_UNIX)"  # an unnamed local peer
            except (OSError, ValueError):
                if self._closed:
                    return
                continue
            with self._lock:
                if len(self._waiting) >= MAX_WAITING:
                    log.warning("netpool: refused connection from %s: %d connections are "
                                "already waiting for a handshake", _peer(peer), MAX_WAITING)
                    conn.close()
                    continue
                self._waiting.append((conn, peer, time.monotonic()))
                self._start_waiting()

    def _expire(self, now: float) -> Optional[float]:
        """Cut handshakes past their deadline, start waiting ones that now can; seconds
        until the next of these is due."""
        with self._lock:
            while self._waiting and now - self._waiting[0][2] >= self.deadline:
                conn, peer, _ = self._waiting.popleft()
                log.warning("netpool: refused connection from %s: no handshake slot "
                            "within %.1fs", _peer(peer), self.deadline)
                conn.close()
            late = [c for c, (_, _, t) in self._pending.items() if now - t >= self.deadline]
            for conn in _answered(late):  # the delay is ours: a fresh deadline, no cut
                entry = self._pending[conn]
                self._pending[conn] = (entry[0], entry[1], now)
            for conn in late:
                if now - self._pending[conn][2] >= self.deadline:
                    self._cut(conn)
            due = [t + self.deadline for _, _, t in self._pending.values()]
            due += [t + self.deadline for _, _, t in list(self._waiting)[:1]]
            self._start_waiting()
            if self._waiting:  # one of them may cut a handshake once it is past GRACE
                due += [t + GRACE for t, _, _ in self._pending.values()]
            later = [d - now for d in due if d > now]
        return min(later) if later else None

    def _start_waiting(self) -> None:
        """Under the lock: start handshakes for waiting connections while there is room."""
        while self._waiting:
            conn, peer, _ = self._waiting[0]
            addr = _addr(peer)
            full = len(self._pending) >= MAX_PENDING
            if self._per_peer[addr] >= PER_PEER:
                if not self._cut_oldest(addr):
                    return
            elif full and not self._cut_oldest(None):
                return
            self._waiting.popleft()
            now = time.monotonic()
            self._pending[conn] = (now, addr, now)
            self._per_peer[addr] += 1
            threading.Thread(target=self._handshake, args=(conn, peer),
                             name="netpool-handshake", daemon=True).start()

    def _cut_oldest(self, addr: Optional[str]) -> bool:
        """Cut the oldest handshake past GRACE from ``addr`` (None: the busiest address)."""
        if addr is None:
            addr = self._per_peer.most_common(1)[0][0]
        now = time.monotonic()
        old = [(t, c) for c, (t, a, _) in self._pending.items()
               if a == addr and now - t >= GRACE]
        if not old:
            return False
        self._cut(min(old, key=lambda tc: tc[0])[1])
        return True

    def _cut(self, conn: socket.socket) -> None:
        """Under the lock: free the slot now; the thread reading it fails and ends."""
        _, addr, _ = self._pending.pop(conn)
        self._release(addr)
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _release(self, addr: str) -> None:
        self._per_peer[addr] -= 1
        if self._per_peer[addr] <= 0:
            del self._per_peer[addr]

    # -- one handshake thread per connection -------------------------------------------
    def _handshake(self, conn: socket.socket, peer) -> None:
        try:
            chan, hello = server_handshake(conn, self.authkey, self.timeout,
                                           progress=lambda: self._progress(conn))
        except Exception as exc:  # wrong key, garbage, silence, oversize, cut: refuse it
            self._done(conn)
            if self._closed:  # e.g. a supervisor dialling in while the pool shuts down
                conn.close()
                return
            # A peer that hung up mid-handshake (a worker killed as it started) is routine;
            # a wrong key, garbage or silence is worth a warning.
            routine = isinstance(exc, (EOFError, ConnectionResetError, BrokenPipeError))
            log.log(logging.INFO if routine else logging.WARNING,
                    "netpool: refused connection from %s: %s: %s",
                    _peer(peer), type(exc).__name__, exc or "no detail")
            conn.close()
            return
        if not self._done(conn):  # cut at its deadline just as it finished: too late
            chan.close()
            return
        try:
            self.on_hello(chan, hello, peer)
        except Exception:
            log.exception("netpool: could not admit worker from %s", _peer(peer))
            chan.close()

    def _progress(self, conn: socket.socket) -> None:
        """The peer on ``conn`` finished a step of the handshake: its next one gets a fresh
        deadline (unless it was cut already)."""
        with self._lock:
            entry = self._pending.get(conn)
            if entry is not None:
                self._pending[conn] = (entry[0], entry[1], time.monotonic())

    def _done(self, conn: socket.socket) -> bool:
        """The handshake on ``conn`` ended; False if it had been cut already."""
        with self._lock:
            entry = self._pending.pop(conn, None)
            if entry is not None:
                self._release(entry[1])
            self._start_waiting()
        return entry is not None


def _answered(conns: list) -> list:
    """Those of ``conns`` whose peer has sent bytes that are still unread: it has taken its
    step, and the handshake thread, not the peer, is late (a manager starved of CPU by a
    join storm). Cutting those would cut a worker that did everything right; a supervisor's
    heartbeat link, whose client sends its HELLO and waits for nothing, would never know
    why its link closed."""
    out = []
    for conn in conns:  # its thread may read it meanwhile: never wait here
        try:
            if _DONTWAIT:
                if conn.recv(1, socket.MSG_PEEK | _DONTWAIT):  # b"": hung up, nothing waits
                    out.append(conn)
            elif _poll_in(conn):  # cannot look without risking a wait: readable will do
                out.append(conn)
        except OSError:  # nothing there (EAGAIN), or closed by its thread meanwhile
            pass
    return out


def _poll_in(conn: socket.socket) -> bool:
    try:  # not select(): a storm of a thousand workers takes descriptors past FD_SETSIZE
        p = select.poll()
        p.register(conn, select.POLLIN)
        return bool(p.poll(0))
    except (AttributeError, ValueError):
        return False


_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


def _addr(peer) -> str:
    try:
        return str(peer[0])
    except (TypeError, IndexError):
        return str(peer)


def _peer(peer) -> str:
    try:
        return f"{peer[0]}:{peer[1]}"
    except (TypeError, IndexError):
        return str(peer)

