"""One owner of the core: failures found while sending are handled by the loop thread, and a
task re-queued by one does not wait for an unrelated wake-up."""

import threading
import time

import pytest

import netpool
from _tasks import SimpleTask
from conftest import wait_for

pytestmark = pytest.mark.timeout(90)


def _break_sends(rec, calls):
    """Make every send on ``rec``'s main link fail as a reset connection would, recording
    which thread found out."""
    def broken(*args, **kwargs):
        calls.append(threading.current_thread())
        raise BrokenPipeError(32, "Broken pipe (injected)")
    rec.chan.send_many = broken
    rec.chan.send = broken


def _joined(rt, n):
    return [r for r in rt._workers if r.ready and r.chan is not None] if rt.worker_count() == n else None


def test_a_task_requeued_by_a_broken_send_runs_at_once(tmp_path):
    """Manager (no replacement, 60 s heartbeats: the loop's next planned wake-up is ~15 s
    away). Every task sent to the broken worker is re-queued onto the healthy one; each of
    them must still come back promptly, not at the next heartbeat ping."""
    m = netpool.Manager(output=str(tmp_path / "w%d.out"))
    try:
        for _ in range(2):
            m.add_worker(netpool.LocalWorker())
        rt = m._start()
        recs = wait_for(lambda: _joined(rt, 2), timeout=60, what="two workers")
        c = m.get_context()
        for i in range(4):  # warm up: the loop then sleeps until its next heartbeat ping
            c.add_task(SimpleTask(i))
        assert sorted(c.get_results_unordered()) == list(range(4))
        calls = []
        _break_sends(recs[0], calls)
        for i in range(6):   # one at a time: each finds both workers idle
            c.add_task(SimpleTask(i))
            t0 = time.monotonic()
            assert list(c.get_results_unordered()) == [i]
            assert time.monotonic() - t0 < 3.0, f"task {i} took {time.monotonic() - t0:.1f}s"
        assert calls, "the broken worker was never sent a task: the test proves nothing"
        assert rt.worker_count() == 1
    finally:
        m.close()


def test_a_send_that_fails_on_a_user_thread_is_handled_by_the_loop(tmp_path):
    """The submitting thread may send directly, but a failure it finds is the loop's to
    handle: the user thread never kills, reaps or replaces a worker."""
    with netpool.DistributedPool(2) as pool:
        rt = pool._rt
        recs = wait_for(lambda: _joined(rt, 2), timeout=60, what="two workers")
        calls, stops = [], []
        _break_sends(recs[0], calls)
        launcher = recs[0].launcher
        real_stop = launcher._stop
        launcher._stop = lambda: (stops.append(threading.current_thread()), real_stop())[1]
        results = [pool.apply_async(abs, (-i,)) for i in range(20)]
        assert [r.get(timeout=30) for r in results] == list(range(20))
        wait_for(lambda: stops, timeout=30, what="the broken worker to be stopped")
        assert calls, "the broken worker was never sent a task: the test proves nothing"
        assert all(t is rt._thread for t in stops), f"stopped on {stops}"


def test_command_handling_never_re_enters_the_core(tmp_path, monkeypatch):
    """Workers that never start: the core gives up (NoWorkers), whose handling withdraws the
    tasks, an event of its own. It reaches the core once NoWorkers' batch is carried out,
    not while it is (the core must never see an event in the middle of its own commands)."""
    from netpool._core import scheduler as S
    busy, events, overlaps = [False], [], []
    real = S.Scheduler.handle

    class Batch(list):
        def __iter__(self):
            yield from list.__iter__(self)
            busy[0] = False

    def handle(self, event):
        events.append(type(event).__name__)
        if busy[0]:
            overlaps.append(type(event).__name__)
        out = Batch(real(self, event))
        busy[0] = bool(out)
        return out

    monkeypatch.setattr(S.Scheduler, "handle", handle)
    m = netpool.Manager(python="false", output=str(tmp_path / "w%d.out"))  # exits at once
    m.heartbeat_timeout = 5.0
    try:
        for _ in range(2):
            m.add_worker(netpool.LocalWorker())
        c = m.get_context()
        c.add_task(SimpleTask(1))
        with pytest.raises(netpool.NetworkError):
            list(c.get_results_unordered())
        assert "TasksWithdrawn" in events, events  # or the test proves nothing
        assert not overlaps, f"the core was handed {overlaps} amid its commands: {events}"
    finally:
        m.close()
