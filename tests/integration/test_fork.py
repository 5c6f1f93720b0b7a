"""A pool belongs to the process that made it: fork() of a process that holds one."""

import json
import os
import signal
import time

import pytest

import netpool
from _tasks import inc
from conftest import wait_for

pytestmark = pytest.mark.timeout(90)


def _in_child(body):
    """Run ``body()`` in a forked child; return what it returned (JSON), within 20 s."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(r)
            signal.alarm(20)  # a call that hangs must not hang the test
            os.write(w, json.dumps(body()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _collect(pid, r):
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, f"the child failed (wait status {status}), reported {data!r}"
    return json.loads(data)


def _outcomes(calls):
    out = {}
    for name, call in calls:
        start = time.monotonic()
        try:
            call()
            out[name] = "returned"
        except Exception as exc:
            out[name] = (type(exc).__name__, time.monotonic() - start, str(exc))
    return out


def _check(outcomes):
    for name, got in outcomes.items():
        assert isinstance(got, list) and got[0] == "ForkedPoolError", (name, got)
        assert got[1] < 1.0, (name, got)  # at once, not after a timeout
        assert "forked" in got[2] and "nothing was sent" in got[2], got[2]


def test_a_forked_child_cannot_use_the_pool_and_the_parent_stays_exact():
    with netpool.DistributedPool(2) as pool:
        assert pool.map(inc, range(10)) == list(range(1, 11))
        # Neither can be done when the child looks (a done result is readable there, as
        # its value is already in the child's memory; only waiting raises).
        pending = pool.apply_async(time.sleep, (2,))
        it = pool.imap(lambda x: (time.sleep(2 if x == 1 else 0), x + 1)[1], iter([1, 2, 3]))
        pid, r = _in_child(lambda: _outcomes([
            ("map", lambda: pool.map(inc, range(300), chunksize=1)),
            ("apply", lambda: pool.apply(inc, (1,))),
            ("apply_async", lambda: pool.apply_async(inc, (1,))),
            ("map_async", lambda: pool.map_async(inc, range(10))),
            ("starmap", lambda: pool.starmap(max, [(1, 2)])),
            ("imap", lambda: list(pool.imap(inc, range(10)))),
            ("imap_unordered", lambda: list(pool.imap_unordered(inc, range(10)))),
            ("an inherited result", lambda: pending.get()),
            ("an inherited iterator", lambda: list(it)),
            ("worker_command", pool.worker_command),
            ("close", pool.close),
            ("join", lambda: pool.join(1)),
            ("terminate", pool.terminate),
        ]))
        # Meanwhile the parent's work must come back exact, whatever the child tried.
        for _ in range(3):
            assert pool.map(inc, range(300), chunksize=1) == list(range(1, 301))
        _check(_collect(pid, r))
        assert pending.get(timeout=10) is None
        assert list(it) == [2, 3, 4]
        assert pool.map(inc, range(300), chunksize=1) == list(range(1, 301))


def test_a_forked_child_cannot_use_the_manager(tmp_path):
    m = netpool.Manager(output=str(tmp_path / "w%d.out"))
    m.add_worker(netpool.LocalWorker())
    c = m.get_context()
    c.add_task(lambda: 1)
    assert list(c.get_results_unordered()) == [1]
    try:
        pid, r = _in_child(lambda: _outcomes([
            ("add_task", lambda: c.add_task(lambda: 2)),
            ("get_results_unordered", lambda: list(c.get_results_unordered())),
            ("get_context", m.get_context),
            ("add_worker", lambda: m.add_worker(netpool.LocalWorker())),
            ("worker_command", m.worker_command),
            ("close", m.close),
        ]))
        for n in range(3):
            for i in range(50):
                c.add_task(lambda i=i: i * 2)
            assert sorted(c.get_results_unordered()) == [i * 2 for i in range(50)]
        _check(_collect(pid, r))
    finally:
        m.close()


def test_a_forked_child_holds_no_descriptor_of_the_pool():
    """It cannot keep a worker's link open after the parent closes it, nor the port."""
    with netpool.DistributedPool(1) as pool:
        pool.apply(inc, (1,))
        rt = pool._rt
        wait_for(lambda: all(w.beat for w in rt._workers.values()), what="the heartbeat link")
        fds = sorted({rt._sock.fileno(), rt._inbox.fd, rt._inbox.write_fd, rt._sel.fileno()}
                     | {c.sock.fileno() for w in rt._workers.values()
                        for c in (w.chan, w.beat) if c is not None})
        mine = {fd for fd in fds if os.path.exists(f"/proc/self/fd/{fd}")}

        def still_open():
            me = os.getpid()
            return sorted(fd for fd in mine
                          if os.path.exists(f"/proc/{me}/fd/{fd}")
                          and os.readlink(f"/proc/{me}/fd/{fd}")
                          == os.readlink(f"/proc/{os.getppid()}/fd/{fd}"))
        pid, r = _in_child(still_open)
        assert _collect(pid, r) == []
        assert len(mine) == 6  # listener, wake-up pipe, epoll, a worker's two links
        assert pool.apply(inc, (1,)) == 2


def test_a_forked_child_can_make_and_use_its_own_pool():
    """What it inherits is closed and refused; what it makes itself works (nested forks too)."""
    import multiprocessing
    with netpool.DistributedPool(1) as pool:
        def child():
            with netpool.DistributedPool(1) as own:
                mine = own.map(inc, range(5))
            with multiprocessing.get_context("fork").Pool(1) as stdlib:
                theirs = stdlib.map(inc, range(5))
            return mine + theirs
        pid, r = _in_child(child)
        assert pool.map(inc, range(100)) == list(range(1, 101))
        assert _collect(pid, r) == [1, 2, 3, 4, 5] * 2
