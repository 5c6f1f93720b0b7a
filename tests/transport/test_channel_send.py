"""Sending: a message written in pieces by short ``sendmsg`` calls arrives whole."""

import pytest

from netpool._protocol import messages as M
from netpool._transport.channel import Channel

pytestmark = pytest.mark.timeout(30)


class ShortWrites:
    """A socket whose ``sendmsg`` writes at most ``most`` bytes a call, into ``out``."""

    def __init__(self, most: int) -> None:
        self.most, self.out, self.calls = most, bytearray(), 0

    def sendmsg(self, parts):
        self.calls += 1
        room = self.most
        for p in parts:
            chunk = bytes(memoryview(p).cast("B")[:room])
            self.out += chunk
            room -= len(chunk)
            if not room:
                break
        return self.most - room


class Replay:
    """Hands back what ``ShortWrites`` collected, as a socket's ``recv_into`` would."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)

    def recv_into(self, buf, n, flags=0):
        n = min(n, len(self.data))
        buf[:n] = self.data[:n]
        self.data = self.data[n:]
        return n


@pytest.mark.parametrize("most", [1, 7, 4096, 1 << 20])
def test_a_message_written_by_short_sends_arrives_whole(most):
    bufs = [bytearray(b"a" * 3000), b"", memoryview(b"z" * 50)]
    msg = (M.TASKS, [(1, 2, M.CALL, 3, b"payload", 3)], [3000, 0, 50])
    sock = ShortWrites(most)
    Channel(sock).send(msg, bufs)
    assert sock.calls >= (len(sock.out) + most - 1) // most
    reader = Channel(Replay(bytes(sock.out)))
    got = []
    while len(got) < 1:
        got += reader.recv_ready(block=True)
    (env, received), = got
    assert env == msg and [bytes(b) for b in received] == [bytes(b) for b in bufs]


def _wmem_max() -> int:
    try:
        with open("/proc/sys/net/core/wmem_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


@pytest.mark.skipif(_wmem_max() < 4 * 125_000, reason="the kernel caps send buffers lower")
def test_a_local_link_holds_a_few_big_chunks_unread():
    """A map's chunk of 25,000 ints pickles to ~125 KB; with the default AF_UNIX buffer
    (~208 KiB) a second one made its sender wait until the worker was scheduled and read."""
    import socket
    from netpool._transport.channel import tune

    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        tune(sender)
        sender.setblocking(False)
        chunk, held = b"x" * 125_000, 0
        try:
            for _ in range(4):
                held += sender.send(chunk)
        except BlockingIOError:
            pass
        assert held == 4 * len(chunk), f"only {held} bytes fit unread"
    finally:
        sender.close()
        receiver.close()
