"""The worker reads its link while it sends: big messages both ways never wait on each other.

The worker's main thread reads the link itself while idle (worker/serve.py). Had it kept the
link while sending a big result, a manager sending it big tasks at the same moment would block
on a full socket, and so would the worker: both sides waiting for ever. Here a fake manager
sends every task before it reads any result, over sockets with small buffers.
"""

import os
import select
import signal
import socket
import threading
import time

import pytest

from netpool._protocol import codec, messages as M
from netpool._transport.channel import Channel

pytestmark = pytest.mark.timeout(90)

N_TASKS, SIZE = 12, 900_000  # in-band payloads (under codec.BLOB_MIN), ~11 MB each way


def _serve_in_child(sock: socket.socket) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            from netpool.worker.execute import Blobs, Runner
            from netpool.worker.serve import Serve
            Serve(Channel(sock), Runner(Blobs())).run()
        finally:
            os._exit(0)
    return pid


def test_big_tasks_and_big_results_cross_without_deadlock():
    import _tasks
    manager_sock, worker_sock = socket.socketpair()
    for s in (manager_sock, worker_sock):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    pid = _serve_in_child(worker_sock)
    worker_sock.close()
    chan = Channel(manager_sock)
    try:
        def send_all():
            chan.send((M.DEFINE, 1, codec.dumps_callable(_tasks.simple_func)))
            for i in range(N_TASKS):
                data, bufs = codec.dumps(((bytes([i]) * SIZE,), {}))
                assert not bufs  # in-band: the case of a big envelope
                chan.send((M.TASKS, [(i, 100 + i, M.CALL, 1, data, 0)], []))
            chan.send((M.STOP,))

        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        # As the manager's one loop thread would: every task is sent before anything is read.
        sender.join(30)
        assert not sender.is_alive(), "the worker stopped reading its link while it sent"
        got, deadline = {}, time.monotonic() + 60
        while len(got) < N_TASKS and time.monotonic() < deadline:
            if select.select([manager_sock], [], [], 1.0)[0]:
                for msg, bufs in chan.recv_ready():
                    assert msg[0] == M.RESULTS
                    for tid, attempt, status, payload, _ in msg[1]:
                        assert attempt == 100 + tid  # echoed as it came
                        got[tid] = codec.loads(payload)
        assert len(got) == N_TASKS, f"only {len(got)} of {N_TASKS} results"
        assert all(got[i] == (bytes([i]) * SIZE,) for i in range(N_TASKS))
    finally:
        chan.close()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
