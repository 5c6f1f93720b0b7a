"""Hostile peers on loopback: none can stop the manager's loop or starve admission.

Every peer here is on 127.0.0.1, few (at most 164 sockets) and short-lived (seconds).
"""

import logging
import os
import socket
import struct
import threading
import time

import pytest

import netpool
from netpool._protocol import messages as M
from netpool._transport import handshake
from conftest import wait_for

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def pool():
    with netpool.DistributedPool(1) as p:
        yield p


def square(x):
    return x * x


def _works(pool):
    assert pool.map(square, range(10), chunksize=1) == [x * x for x in range(10)]
    assert pool._rt.alive


def _join(pool, hello=None):
    """An authenticated peer that joined by itself: (channel, WELCOME)."""
    hello = hello or (M.HELLO, M.VERSION, -1, M.ROLE_MAIN, os.getpid(), "hostile")
    chan = handshake.client_connect(pool.address, pool.authkey, hello, timeout=5)
    return chan, chan.recv()[0]


def _dropped(chan, within=10.0):
    """True once the manager has closed this link (EOF on our side)."""
    chan.sock.settimeout(within)
    try:
        while True:
            chan.recv()
    except (EOFError, OSError):
        return True


BAD_MESSAGES = {
    "RESULTS without entries": (M.RESULTS,),
    "RESULTS with an empty list": (M.RESULTS, []),
    "RESULTS entry too short": (M.RESULTS, [(1,)]),
    "RESULTS unhashable task id": (M.RESULTS, [([1], 1, M.OK, b"", 0, 0.0)]),
    "RESULTS task id of the wrong type": (M.RESULTS, [("one", 1, M.OK, b"", 0, 0.0)]),
    "RESULTS attempt of the wrong type": (M.RESULTS, [(1, [1], M.OK, b"", 0, 0.0)]),
    "RESULTS without an attempt": (M.RESULTS, [(1, M.OK, b"", 0, 0.0)]),
    "RESULTS unknown status": (M.RESULTS, [(1, 1, 77, b"", 0, 0.0)]),
    "RESULTS payload not bytes": (M.RESULTS, [(1, 1, M.OK, "text", 0, 0.0)]),
    "RESULTS buffers that never come": (M.RESULTS, [(1, 1, M.OK, b"", 3, 0.0)]),
    "RESULTS without the run time": (M.RESULTS, [(1, 1, M.OK, b"", 0)]),
    "RESULTS run time negative": (M.RESULTS, [(1, 1, M.OK, b"", 0, -1.0)]),
    "RESULTS run time not a number": (M.RESULTS, [(1, 1, M.OK, b"", 0, float("nan"))]),
    "RESULTS run time infinite": (M.RESULTS, [(1, 1, M.OK, b"", 0, float("inf"))]),
    "RESULTS run time a string": (M.RESULTS, [(1, 1, M.OK, b"", 0, "1")]),
    "RESULTS entries not a list": (M.RESULTS, 12),
    "RESULTS buffer sizes not a list": (M.RESULTS, [(1, 1, M.OK, b"", 1, 0.0)], 5),
    "REVOKED unhashable ids": (M.REVOKED, [[[1], 1]]),
    "REVOKED ids without attempts": (M.REVOKED, [1, 2]),
    "REVOKED not a list": (M.REVOKED, None),
    "READY with garbage": (M.READY, "soon", 3),
    "BEAT with a payload": (M.BEAT, b"x"),
    "unknown message type": (99, 1, 2),
}


@pytest.mark.parametrize("alone", [False, True], ids=["behind READY", "alone"])
@pytest.mark.parametrize("what", sorted(BAD_MESSAGES))
def test_a_malformed_message_costs_its_link_only(pool, caplog, what, alone):
    """Read in one piece with the READY before it, or alone, once the peer has joined (a
    message read alone may take the loop's lone path, reading.py)."""
    with caplog.at_level(logging.WARNING, logger="netpool"):
        chan, welcome = _join(pool)
        assert welcome[0] == M.WELCOME
        chan.send((M.READY, None))
        if alone:
            wait_for(lambda: pool._rt.worker_count() == 2, what="the peer to join")
        chan.send(BAD_MESSAGES[what])
        assert _dropped(chan)
        chan.close()
        _works(pool)
    logged = [r.getMessage() for r in caplog.records if "broke the protocol" in r.getMessage()]
    assert any("127.0.0.1:" in m for m in logged), logged


BAD_HELLOS = {
    "too short": (M.HELLO, M.VERSION, -1),
    "worker id a string": (M.HELLO, M.VERSION, "7", M.ROLE_MAIN, 1, "h"),
    "worker id unhashable": (M.HELLO, M.VERSION, [7], M.ROLE_MAIN, 1, "h"),
    "unknown role": (M.HELLO, M.VERSION, -1, "boss", 1, "h"),
    "pid a float": (M.HELLO, M.VERSION, -1, M.ROLE_MAIN, 1.5, "h"),
    "host not text": (M.HELLO, M.VERSION, -1, M.ROLE_MAIN, 1, b"h"),
    "wrong version type": (M.HELLO, "2", -1, M.ROLE_MAIN, 1, "h"),
}


@pytest.mark.parametrize("what", sorted(BAD_HELLOS))
def test_a_malformed_hello_is_refused_and_logged(pool, caplog, what):
    with caplog.at_level(logging.WARNING, logger="netpool"):
        chan = handshake.client_connect(pool.address, pool.authkey, BAD_HELLOS[what], timeout=5)
        assert _dropped(chan)
        chan.close()
        _works(pool)
        wait_for(lambda: [r for r in caplog.records if "refused connection from 127.0.0.1:"
                          in r.getMessage()], what="the refusal to be logged")


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_2_gib_frame_announced_costs_neither_memory_nor_time(pool):
    chan, _ = _join(pool)  # never READY: it gets no tasks, so work cannot wait on it
    _works(pool)
    before = _rss()
    chan.sock.sendall(struct.pack("!i", -1) + struct.pack("!Q", 2 << 30) + b"x" * 4096)
    try:
        t0 = time.monotonic()
        for _ in range(5):
            _works(pool)
        took = time.monotonic() - t0
        grew = _rss() - before
        assert grew < 256 << 20, f"the manager grew by {grew >> 20} MiB"
        assert took < 10, f"work took {took:.1f}s meanwhile"
    finally:
        chan.close()
    _works(pool)


def _welcome_time(pool) -> float:
    t0 = time.monotonic()
    chan, welcome = _join(pool)
    took = time.monotonic() - t0
    assert welcome[0] == M.WELCOME
    chan.close()
    return took


def test_slow_loris_and_silent_connections_do_not_starve_admission(pool):
    """64 connections that send a byte every 0.2 s and 100 silent ones, all open: a worker
    that speaks the protocol is still welcomed within a second."""
    stop = threading.Event()
    loris = [socket.create_connection(pool.address) for _ in range(64)]
    silent = [socket.create_connection(pool.address) for _ in range(100)]

    def drip():
        while not stop.wait(0.2):
            for s in loris:
                try:
                    s.send(b"\x00")
                except OSError:
                    pass

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        time.sleep(0)  # (no synchronisation intended: the hostile sockets are open already)
        wait_for(lambda: pool._rt._acceptor.pending() >= 64, timeout=10,
                 what="the hostile handshakes to be pending")
        times = [_welcome_time(pool) for _ in range(5)]
        assert max(times) < 1.0, f"joins took {times}"
        _works(pool)
    finally:
        stop.set()
        dripper.join(5)
        for s in loris + silent:
            s.close()
