"""Bad peers on the manager's port are refused and logged while work goes on."""

import logging
import socket
import struct
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client

import pytest

import netpool
from netpool._transport import handshake

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def pool():
    with netpool.DistributedPool(2) as p:
        yield p


def square(x):
    return x * x


def _refusals(caplog):
    return [r for r in caplog.records if "refused connection" in r.getMessage()]


def test_wrong_authkey_is_refused(pool, caplog, monkeypatch):
    monkeypatch.setattr(handshake, "HANDSHAKE_TIMEOUT", 2.0)
    with caplog.at_level(logging.WARNING, logger="netpool"):
        with pytest.raises(AuthenticationError):
            Client(pool.address, authkey=b"not the key")
        assert pool.map(square, range(20)) == [x * x for x in range(20)]
        from conftest import wait_for
        wait_for(lambda: _refusals(caplog), what="the refusal to be logged")
    assert "AuthenticationError" in _refusals(caplog)[0].getMessage()


def test_silent_garbage_and_oversized_clients_do_not_block_work(pool, caplog):
    """Twenty silent sockets, garbage, and a 1 TB frame header, all at once, during a map."""
    silent = [socket.create_connection(pool.address) for _ in range(20)]
    garbage = socket.create_connection(pool.address)
    garbage.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 10)
    huge = socket.create_connection(pool.address)
    huge.sendall(struct.pack("!i", -1) + struct.pack("!Q", 1 << 40))
    try:
        result = pool.map_async(square, range(200), chunksize=1)
        assert result.get(timeout=30) == [x * x for x in range(200)]
        # a new authenticated peer is still admitted
        rogue_ok = Client(pool.address, authkey=pool.authkey)
        rogue_ok.close()
    finally:
        for s in silent + [garbage, huge]:
            s.close()


def test_handshake_deadline_refuses_a_silent_client(caplog):
    """The accept path stays free: a silent client is dropped after the handshake timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    with pytest.raises((OSError, EOFError)):
        handshake.server_handshake(conn, b"k" * 32, timeout=0.3)
    for s in (cli, conn, srv):
        s.close()


def test_oversized_frame_is_refused_before_allocation():
    a, b = socket.socketpair()
    from netpool._transport.channel import Channel
    from netpool.errors import ProtocolError
    chan = Channel(b, max_frame=1024)
    a.sendall(struct.pack("!i", 4096) + b"x" * 10)
    with pytest.raises(ProtocolError, match="exceeds the cap"):
        chan.recv()
    a.close()
    b.close()


def test_authkey_is_never_on_a_command_line(pool):
    key = pool.authkey.hex()
    import os
    leaks = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if key.encode() in f.read():
                    leaks.append(pid)
        except OSError:
            pass
    assert pool.map(square, [3]) == [9]
    assert not leaks


def test_default_authkey_is_32_random_bytes():
    with netpool.DistributedPool(1) as a, netpool.DistributedPool(1) as b:
        assert len(a.authkey) == 32 and a.authkey != b.authkey
        assert a.address[0] == "127.0.0.1"  # local workers only: loopback
