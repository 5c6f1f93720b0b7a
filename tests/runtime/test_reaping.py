"""The loop never waits for a lost worker's process (issue 9): when a worker's link breaks
before its process has ended, the loop kills it without waiting, and its sentinel says when
it ended; its tasks go back to the queue then, with its exit status known for the error
messages. Before, ``Commands.lost`` waited up to 0.2 s in ``waitpid`` on the loop thread."""

import gc
import socket
import threading
import time

import pytest

from netpool import DistributedPool, PoisonTaskError
from netpool.launchers.local import LocalWorker

pytestmark = pytest.mark.timeout(120)

_loop_waits: list = []


class NoWaitingWorker(LocalWorker):
    """A local worker whose blocking reap records who called it."""

    def _reap(self, timeout):
        _loop_waits.append((threading.current_thread().name, timeout))
        return super()._reap(timeout)

    def _replacement(self):
        return NoWaitingWorker()


def _cut_own_link_and_linger(_):
    """On the worker: break the link to the manager while this process lives on."""
    from netpool._transport.channel import Channel
    for obj in gc.get_objects():
        if type(obj) is Channel and obj.sock.fileno() >= 0:
            try:
                obj.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    time.sleep(30)  # killed long before


def _double(x):
    return 2 * x


def test_a_worker_lost_before_its_process_ends_is_never_waited_for_on_the_loop():
    _loop_waits.clear()
    with DistributedPool(workers=[NoWaitingWorker() for _ in range(2)]) as pool:
        start = time.monotonic()
        with pytest.raises(PoisonTaskError) as info:
            pool.apply(_cut_own_link_and_linger, (0,))
        # Three workers killed, one at a time; each death named with its exit status, which
        # the sentinel made known without anyone waiting for it.
        assert "SIGKILL" in str(info.value) or "exit code" in str(info.value), str(info.value)
        assert "unknown" not in str(info.value), str(info.value)
        assert time.monotonic() - start < 60
        assert pool.map(_double, range(10)) == [2 * x for x in range(10)]
    assert _loop_waits == []
