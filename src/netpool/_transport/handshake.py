"""Connection set-up: TCP connect or accept, HMAC challenge both ways, then HELLO.

The challenge is multiprocessing.connection's own (``deliver_challenge`` /
``answer_challenge``), run on a ``Connection`` over a duplicate of the socket's descriptor;
kernel-level socket timeouts bound every read and write in it, so a silent peer cannot hold a
handshake open. After it, both ends speak netpool's framing on the socket itself.
"""

from __future__ import annotations

import os
import random
import socket
import time
from typing import Callable, Optional, TypeVar
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

from ..errors import ProtocolError
from .._protocol import messages as M
from .._protocol import shapes
from .channel import Channel, set_io_timeouts, tune

HANDSHAKE_TIMEOUT = 10.0
# A worker's bound on each read of its handshake. The manager holds a handshake three steps
# of HANDSHAKE_TIMEOUT at most (listener.py), and on a starved machine its answer to one step
# can take longer than 10 s to come, so the client waits as long as the manager may hold it:
# a live manager is never given up on, a dead or hung one is within 30 s.
CLIENT_TIMEOUT = 3 * HANDSHAKE_TIMEOUT
HELLO_MAX = 64 * 1024  # nothing in a hello or welcome is larger
# How long a worker keeps trying to join while a retry may help (its manager, admitting
# hundreds of others on a starved machine, cut or did not answer its handshake): within the
# manager's own connect timeout for the workers it starts (120 s by default).
JOIN_SECONDS = 60.0
RETRY_FIRST, RETRY_MOST = 0.1, 5.0  # seconds before the first retry; the backoff's cap
# Failures a retry can cure: a link reset or closed as we joined, no answer in time (the
# kernel's read timeout shows as EAGAIN). Not a wrong key (AuthenticationError), nor another
# protocol version (ProtocolError): those fail the same way every time.
CURABLE = (ConnectionError, EOFError, TimeoutError, BlockingIOError)

T = TypeVar("T")


def _challenge(sock: socket.socket, authkey: bytes, server: bool,
               progress: Optional[Callable[[], None]] = None) -> None:
    conn = Connection(os.dup(sock.fileno()))
    try:
        if server:
            deliver_challenge(conn, authkey)
            if progress is not None:  # the peer proved it holds the key
                progress()
            answer_challenge(conn, authkey)
            if progress is not None:
                progress()
        else:
            answer_challenge(conn, authkey)
            deliver_challenge(conn, authkey)
    finally:
        conn.close()


def server_handshake(sock: socket.socket, authkey: bytes,
                     timeout: float = HANDSHAKE_TIMEOUT,
                     progress: Optional[Callable[[], None]] = None) -> tuple[Channel, tuple]:
    """Authenticate an accepted socket and read its HELLO.

    ``progress`` (called on this thread) is called after each of the peer's two challenge
    steps is done: after the first the peer has proved it holds the key, so the caller
    may give it a fresh deadline for the next step (listener.py).

    Raises ``multiprocessing.AuthenticationError`` (wrong key), ``ProtocolError`` (garbage,
    wrong version), ``OSError``/``EOFError`` (silence past ``timeout``, a closed socket).
    """
    sock.setblocking(True)
    tune(sock)
    set_io_timeouts(sock, timeout, timeout)
    _challenge(sock, authkey, server=True, progress=progress)
    chan = Channel(sock, max_frame=HELLO_MAX)
    msg, _ = chan.recv()
    if msg[0] != M.HELLO:
        raise ProtocolError(f"expected HELLO, got message type {msg[0]}")
    if len(msg) > 1 and msg[1] != M.VERSION:
        who = "a status client (netpool status)" if msg[3:4] == (M.ROLE_STATUS,) else "worker"
        raise ProtocolError(f"{who} speaks protocol {msg[1]!r}, manager speaks {M.VERSION}: "
                            "install the same netpool version on both sides")
    return chan, shapes.check_hello(msg)


def client_connect(address: tuple[str, int], authkey: bytes, hello: tuple,
                   timeout: float = CLIENT_TIMEOUT) -> Channel:
    """Connect to a manager, authenticate both ways and send ``hello``.

    Raises ``ConnectionRefusedError`` (nobody listening: the manager has exited),
    ``socket.timeout`` (no answer within ``timeout``, which bounds the connect and each
    read), ``multiprocessing.AuthenticationError`` (wrong key).
    """
    sock = _connect(address, timeout)
    try:
        sock.settimeout(None)
        tune(sock)
        set_io_timeouts(sock, timeout, timeout)
        _challenge(sock, authkey, server=False)
        chan = Channel(sock)
        chan.send(hello)
    except BaseException:
        sock.close()  # a failed handshake (tried again) leaves no socket to be collected
        raise
    return chan


def _connect(address: tuple[str, int], timeout: float) -> socket.socket:
    """TCP, or AF_UNIX for ``("@name", _)``: a manager's abstract socket on this host."""
    if not address[0].startswith("@"):
        return socket.create_connection(address, timeout=timeout)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect("\0" + address[0][1:])
    except BaseException:
        sock.close()
        raise
    return sock


def finish(chan: Channel, max_frame: int | None = None) -> None:
    """Leave handshake mode: reads block as long as needed; sends stay bounded elsewhere."""
    set_io_timeouts(chan.sock, None, None)
    if max_frame is not None:
        chan.max_frame = max_frame


def retrying(join: Callable[[], T], budget: float = JOIN_SECONDS, *, refused: bool = True,
             say: Optional[Callable[[str], None]] = None) -> T:
    """``join()``, tried again with backoff (from ``RETRY_FIRST``, doubling to ``RETRY_MOST``,
    jittered so that a storm of workers spreads out) for ``budget`` seconds while it fails
    in a way a retry can cure (``CURABLE``); a refused connection counts only if
    ``refused`` and the manager has not been reached yet (once it has, a refusal says it
    has gone). The last failure is raised; ``say`` hears of each retry.
    """
    deadline, delay, reached = time.monotonic() + budget, RETRY_FIRST, False
    while True:
        try:
            return join()
        except CURABLE as exc:
            gone = isinstance(exc, ConnectionRefusedError) and (reached or not refused)
            pause = delay * random.uniform(0.5, 1.5)
            if gone or time.monotonic() + pause > deadline:
                raise
            reached = reached or not isinstance(exc, ConnectionRefusedError)
            if say is not None:
                say(f"joining failed ({exc or type(exc).__name__}); "
                    f"trying again in {pause:.1f} s")
            time.sleep(pause)
            delay = min(2 * delay, RETRY_MOST)
