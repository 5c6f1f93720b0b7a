"""A worker starved of CPU joins however long its handshake takes in all, as long as it keeps
answering; a peer that stalls a step, or has not the key, is still cut at the deadline."""

import os
import socket
import threading
import time
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

import pytest

from netpool._protocol import messages as M
from netpool._runtime.listener import Acceptor, bind
from netpool._transport.channel import Channel, set_io_timeouts
from conftest import wait_for

pytestmark = pytest.mark.timeout(60)

KEY = os.urandom(32)
DEADLINE = 2.0
PAUSE = 1.2  # each step is well within DEADLINE; all three together are not


@pytest.fixture
def acceptor():
    joined = []
    got = threading.Event()

    def on_hello(chan, hello, peer):
        joined.append(hello)
        got.set()

    acc = Acceptor(bind("127.0.0.1"), KEY, on_hello, deadline=DEADLINE)
    acc.joined, acc.got = joined, got
    yield acc
    acc.close()


def _connect(address) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.settimeout(None)
    set_io_timeouts(sock, 10, 10)  # as client_connect does: the challenge needs a blocking fd
    return sock


def _slow_worker(address, pause: float) -> socket.socket:
    """The client side of the handshake with ``pause`` seconds of "starvation" before each
    of its steps after the first (the pause is the behaviour under test, not a wait)."""
    sock = _connect(address)
    conn = Connection(os.dup(sock.fileno()))
    try:
        answer_challenge(conn, KEY)
        time.sleep(pause)
        deliver_challenge(conn, KEY)
    finally:
        conn.close()
    time.sleep(pause)
    Channel(sock).send((M.HELLO, M.VERSION, -1, M.ROLE_MAIN, os.getpid(), "slow"))
    return sock


def test_a_slow_but_steady_worker_joins_past_the_deadline_in_all(acceptor):
    t0 = time.monotonic()
    sock = _slow_worker(acceptor.sock.getsockname(), PAUSE)
    try:
        assert acceptor.got.wait(10), "the slow worker was cut"
        assert time.monotonic() - t0 > DEADLINE  # so one total deadline would have cut it
        assert acceptor.joined[0][4] == os.getpid()
    finally:
        sock.close()


def test_a_worker_that_authenticates_then_stalls_is_cut(acceptor):
    """Both challenge steps done, no HELLO: cut one DEADLINE after its last step."""
    sock = _connect(acceptor.sock.getsockname())
    conn = Connection(os.dup(sock.fileno()))
    try:
        answer_challenge(conn, KEY)
        deliver_challenge(conn, KEY)
        t0 = time.monotonic()
        wait_for(lambda: acceptor.pending() == 0, timeout=DEADLINE + 5, what="the cut")
        assert time.monotonic() - t0 <= DEADLINE + 1.5
        assert sock.recv(1) == b""  # shut down by the manager
        assert not acceptor.got.is_set()
    finally:
        conn.close()
        sock.close()


def test_a_silent_peer_without_the_key_is_cut_at_the_deadline(acceptor):
    sock = socket.create_connection(acceptor.sock.getsockname(), timeout=10)
    try:
        wait_for(lambda: acceptor.pending() == 1, timeout=5, what="the pending handshake")
        t0 = time.monotonic()
        wait_for(lambda: acceptor.pending() == 0, timeout=DEADLINE + 3, what="the cut")
        assert time.monotonic() - t0 <= DEADLINE + 1
        assert not acceptor.got.is_set()
    finally:
        sock.close()


def test_a_worker_waits_for_a_starved_manager_longer_than_one_step():
    """A manager whose challenge comes after more than HANDSHAKE_TIMEOUT (its handshake
    thread starved of CPU) is still joined with client_connect's default bound."""
    from netpool._transport import handshake

    server = bind("127.0.0.1")
    got = []

    def starved_manager():
        conn, _ = server.accept()
        time.sleep(handshake.HANDSHAKE_TIMEOUT + 1)  # the starvation under test
        got.append(handshake.server_handshake(conn, KEY)[1])

    t = threading.Thread(target=starved_manager, daemon=True)
    t.start()
    try:
        chan = handshake.client_connect(server.getsockname(), KEY,
                                        (M.HELLO, M.VERSION, -1, M.ROLE_MAIN, os.getpid(), "w"))
        t.join(10)
        assert got and got[0][4] == os.getpid()
        chan.close()
    finally:
        server.close()


def test_a_peer_that_has_sent_its_hello_is_not_cut_while_the_manager_is_slow_to_read_it(
        monkeypatch):
    """The deadline is the peer's: past it, a handshake whose peer's bytes wait unread (the
    manager's handshake thread starved of CPU, issue 9's join storm) is not cut. Cut, it
    would be lost without the peer knowing: a supervisor's heartbeat link sends its HELLO
    and waits for nothing."""
    from netpool._runtime import listener
    from netpool._transport import handshake

    deadline = 0.5
    sent, passes, cond, stalled = threading.Event(), [], threading.Condition(), []
    real = listener.server_handshake

    def starved(sock, authkey, timeout, progress=None):
        calls = []

        def step():
            progress()
            calls.append(None)
            if len(calls) == 2:  # both challenges done: the HELLO is the next step
                t0 = time.monotonic()
                with cond:  # "starved" until the accept thread has looked past the deadline
                    stalled.append(cond.wait_for(
                        lambda: sent.is_set() and any(p >= t0 + deadline for p in passes),
                        timeout=deadline + 20))
        return real(sock, authkey, timeout, progress=step)

    monkeypatch.setattr(listener, "server_handshake", starved)
    joined = threading.Event()
    acc = Acceptor(bind("127.0.0.1"), KEY, lambda chan, hello, peer: joined.set(),
                   deadline=deadline)
    expire = acc._expire

    def watched(now):
        try:
            return expire(now)
        finally:
            with cond:
                passes.append(now)
                cond.notify_all()
    acc._expire = watched
    try:
        chan = handshake.client_connect(acc.sock.getsockname(), KEY,
                                        (M.HELLO, M.VERSION, 3, M.ROLE_BEAT, os.getpid(), "w"))
        sent.set()
        with cond:
            cond.notify_all()
        assert joined.wait(deadline + 20), "the handshake was cut though its HELLO had come"
        assert stalled == [True]  # the accept thread did look at it past its deadline
        chan.close()
    finally:
        acc.close()
