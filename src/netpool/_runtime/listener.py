"""Accepting workers without ever blocking the loop thread.

One thread accepts; each accepted socket gets a short-lived thread for the handshake, bounded
by kernel socket timeouts, so a silent client, garbage bytes, an oversized frame or a wrong
authkey costs one thread for at most ``HANDSHAKE_TIMEOUT`` seconds and is then refused and
logged, while everyone else is served. Only an authenticated HELLO reaches the loop.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Callable

from .._transport.handshake import HANDSHAKE_TIMEOUT, server_handshake

log = logging.getLogger("netpool")

MAX_HANDSHAKES = 64  # concurrent; more connections wait in the kernel's accept backlog


def bind(host: str, port: int = 0) -> socket.socket:
    """A listening TCP socket on ``host`` (a name or address), any free port by default."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(addr)
    sock.listen(128)
    return sock


class Acceptor:
    """Runs the accept thread; calls ``on_hello(channel, hello)`` for each authenticated peer."""

    def __init__(self, sock: socket.socket, authkey: bytes,
                 on_hello: Callable, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        self.sock = sock
        self.authkey = authkey
        self.on_hello = on_hello
        self.timeout = timeout
        self._slots = threading.BoundedSemaphore(MAX_HANDSHAKES)
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="netpool-accept",
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        except OSError:
            pass
        self.sock.close()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                if self._closed:
                    return
                continue
            self._slots.acquire()
            threading.Thread(target=self._handshake, args=(conn, peer),
                             name="netpool-handshake", daemon=True).start()

    def _handshake(self, conn: socket.socket, peer) -> None:
        try:
            chan, hello = server_handshake(conn, self.authkey, self.timeout)
        except Exception as exc:  # wrong key, garbage, silence, oversize: refuse this one
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
        finally:
            self._slots.release()
        try:
            self.on_hello(chan, hello, peer)
        except Exception:
            log.exception("netpool: could not admit worker from %s", _peer(peer))
            chan.close()


def _peer(peer) -> str:
    try:
        return f"{peer[0]}:{peer[1]}"
    except (TypeError, IndexError):
        return str(peer)
