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

from conftest import wait_for
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


def _serving(func) -> tuple:
    """A worker's loop in a child on one end of a socket pair, with ``func`` defined as
    blob 1: (the manager's channel, its socket, the child's pid)."""
    manager_sock, worker_sock = socket.socketpair()
    pid = _serve_in_child(worker_sock)
    worker_sock.close()
    chan = Channel(manager_sock)
    chan.send((M.DEFINE, 1, codec.dumps_callable(func)))
    return chan, manager_sock, pid


def _end(chan, pid: int) -> None:
    chan.close()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


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
                    for tid, attempt, status, payload, _, took in msg[1]:
                        assert attempt == 100 + tid and took >= 0  # echoed as it came
                        got[tid] = codec.loads(payload)
        assert len(got) == N_TASKS, f"only {len(got)} of {N_TASKS} results"
        assert all(got[i] == (bytes([i]) * SIZE,) for i in range(N_TASKS))
    finally:
        _end(chan, pid)


def test_a_lone_small_task_never_hands_the_link_to_the_reader_thread():
    """The main thread reads its link while idle: a task that comes alone, small, is run
    and answered without waking the reader thread (a thread hop and a pipe write both ways,
    a good part of a short round trip). Each hand-over (``Serve._kick``) is counted."""
    import _tasks
    manager_sock, worker_sock = socket.socketpair()
    kicks_r, kicks_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            manager_sock.close()
            from netpool.worker.execute import Blobs, Runner
            from netpool.worker.serve import Serve

            class Counted(Serve):
                def _kick(self):
                    os.write(kicks_w, b"k")
                    super()._kick()
            Counted(Channel(worker_sock), Runner(Blobs())).run()
        finally:
            os._exit(0)
    worker_sock.close()
    os.close(kicks_w)
    chan = Channel(manager_sock)
    try:
        chan.send((M.DEFINE, 1, codec.dumps_callable(_tasks.simple_func)))
        for i in range(30):
            data, _ = codec.dumps(((i,), {}))
            chan.send((M.TASKS, [(i, 1, M.CALL, 1, data, 0)], []))
            deadline, got = time.monotonic() + 30, []
            while not got and time.monotonic() < deadline:
                if select.select([manager_sock], [], [], 1.0)[0]:
                    got = chan.recv_ready()
            assert got and got[0][0][0] == M.RESULTS, f"no result for task {i}"
        chan.send((M.STOP,))
        _, status = os.waitpid(pid, 0)
        pid = None
        assert os.waitstatus_to_exitcode(status) == 0
        kicks = b""
        while select.select([kicks_r], [], [], 0)[0]:
            chunk = os.read(kicks_r, 1024)
            if not chunk:
                break
            kicks += chunk
        assert kicks == b"", f"the reader thread took the link {len(kicks)} times for 30 lone tasks"
    finally:
        chan.close()
        os.close(kicks_r)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_a_run_of_lone_round_trips_sets_the_reader_s_alarm_once_a_period_not_twice_a_task():
    """The main thread arms the reader's alarm when it leaves the link for a task; it used
    to disarm it on its way back, two ``timerfd_settime`` calls per lone task (~9 us of a
    ~150 us round trip here). Now the reader disarms it when it rings and finds the main
    thread back: a run of round trips sets it about twice a period, and it ends disarmed."""
    import _tasks
    period = 0.3
    manager_sock, worker_sock = socket.socketpair()
    sets_r, sets_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            manager_sock.close()
            from netpool.worker import serve
            from netpool.worker.execute import Blobs, Runner
            serve.HOLD_SECONDS = period  # the alarm's period
            server = serve.Serve(Channel(worker_sock), Runner(Blobs()))
            timer = server.alarm._timer
            real_set = timer.set

            def counted(first, period):
                os.write(sets_w, b"1" if first else b"0")
                real_set(first, period)
            timer.set = counted
            server.run()
        finally:
            os._exit(0)
    worker_sock.close()
    os.close(sets_w)
    chan = Channel(manager_sock)
    sets = b""

    def read_sets() -> bytes:
        nonlocal sets
        while select.select([sets_r], [], [], 0)[0]:
            sets += os.read(sets_r, 4096)
        return sets
    try:
        chan.send((M.DEFINE, 1, codec.dumps_callable(_tasks.simple_func)))
        n, began = 100, time.monotonic()
        for i in range(n):
            data, _ = codec.dumps(((i,), {}))
            chan.send((M.TASKS, [(i, 1, M.CALL, 1, data, 0)], []))
            got = _result_of(chan, manager_sock)
            assert got and got[0][0][0] == M.RESULTS, f"no result for task {i}"
        took = time.monotonic() - began
        bound = 2 * (took / period + 2)
        assert len(read_sets()) <= bound, (
            f"the alarm was set {len(sets)} times for {n} lone tasks in {took:.2f} s "
            f"(period {period} s; at most {bound:.0f} expected, {2 * n} if set twice a task)")
        wait_for(lambda: read_sets().endswith(b"0"), timeout=10 * period + 5,
                 what="the reader to disarm the alarm of an idle worker")
    finally:
        os.close(sets_r)
        _end(chan, pid)


def _thread_switches(pid: int) -> int:
    """How many times the threads of ``pid`` were put on a CPU so far, in all."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[2])
    return total


def _result_of(chan, sock, within=30.0) -> list:
    deadline, got = time.monotonic() + within, []
    while not got and time.monotonic() < deadline:
        if select.select([sock], [], [], 1.0)[0]:
            got = chan.recv_ready()
    return got


@pytest.mark.skipif(not os.path.exists("/proc/thread-self/schedstat"), reason="Linux only")
def test_an_idle_worker_s_reader_thread_sleeps_and_still_takes_the_link_for_a_long_task(
        tmp_path):
    """Issue 9: the reader thread polled every 10 ms for ever, so 256 idle workers kept a
    third of 2 cores busy. Found the main thread on the link, it now sleeps until the main
    thread leaves for a task; it must still take the link over when that task is long."""
    import _tasks
    chan, manager_sock, pid = _serving(_tasks.sleep_then)
    try:
        data, _ = codec.dumps(((0.0, "quick"), {}))
        chan.send((M.TASKS, [(1, 1, M.CALL, 1, data, 0)], []))
        assert _result_of(chan, manager_sock), "no result for the quick task"
        time.sleep(0.1)  # the reader thread's next poll finds the main thread idle
        before = _thread_switches(pid)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # idle for half a second: 50 polls, as it was
            time.sleep(0.05)
        woke = _thread_switches(pid) - before
        assert woke <= 5, f"the idle worker's threads woke {woke} times in 0.5 s"
        marker = os.path.join(tmp_path, "running")
        data, _ = codec.dumps(((1.0, "slow", marker), {}))
        chan.send((M.TASKS, [(2, 2, M.CALL, 1, data, 0)], []))
        wait_for(lambda: os.path.exists(marker), timeout=10, what="the slow task to start")
        chan.send((M.REVOKE, [(99, 9)]))
        got = _result_of(chan, manager_sock, within=0.7)
        assert got and got[0][0] == (M.REVOKED, []), f"no REVOKED during the long task: {got}"
        got = _result_of(chan, manager_sock)
        assert got and got[0][0][0] == M.RESULTS
    finally:
        _end(chan, pid)


def test_a_result_held_for_a_revoked_task_is_still_sent(tmp_path):
    """A result is held back while more tasks are queued, to share their message. When those
    are revoked (stolen by an idle worker) while it runs, nothing comes after it: it must
    still be sent. The reader thread's polls used to send it; once they stopped while the
    main thread is on the link (issue 9), it waited there for ever, and so did the map."""
    import _tasks
    chan, manager_sock, pid = _serving(_tasks.sleep_then)
    try:
        marker = os.path.join(tmp_path, "running")
        first, _ = codec.dumps(((0.3, "first", marker), {}))
        second, _ = codec.dumps(((0.0, "second"), {}))
        chan.send((M.TASKS, [(1, 1, M.CALL, 1, first, 0), (2, 1, M.CALL, 1, second, 0)], []))
        wait_for(lambda: os.path.exists(marker), timeout=10, what="the first task to start")
        chan.send((M.REVOKE, [(2, 1)]))  # while it runs: the reader thread has the link
        got = _result_of(chan, manager_sock)
        assert got and got[0][0] == (M.REVOKED, [(2, 1)]), f"task 2 not revoked: {got}"
        got = _result_of(chan, manager_sock, within=10.0)
        assert got and got[0][0][0] == M.RESULTS, "the first task's result never came"
        assert [e[0] for e in got[0][0][1]] == [1]
    finally:
        _end(chan, pid)
