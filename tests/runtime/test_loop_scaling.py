"""The loop's per-round work does not grow with the number of workers: local processes'
ends arrive as events (pidfds), heartbeat pings visit only the links whose turn it is."""

import selectors
import time

import pytest

import netpool
from netpool._runtime.links import Links
from netpool._runtime.workers import WorkerRec
from _tasks import SimpleTask
from conftest import wait_for

pytestmark = pytest.mark.timeout(90)


class FakeChan:
    def __init__(self, fd):
        self.sock = fd
        self.sent = 0

    def send(self, msg):
        self.sent += 1


def test_pings_visit_only_the_links_whose_turn_it_is(monkeypatch):
    import os
    sel = selectors.DefaultSelector()
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    links = Links(sel, lambda: 8.0)
    recs, fds = [], []
    for i in range(200):  # joined over 8 s, one every 40 ms
        r, w = os.pipe()
        fds += [r, w]
        rec = WorkerRec(i)
        rec.beat = FakeChan(r)
        links.register(rec, rec.beat)
        recs.append(rec)
        now[0] += 0.04
    try:
        start = now[0]
        sent_before = sum(r.beat.sent for r in recs)
        nxt = links.ping_due(now[0])   # only those due within 2 s of now
        first = sum(r.beat.sent for r in recs) - sent_before
        assert 0 < first <= 60, first
        assert nxt > now[0]
        # Over many intervals, every link is pinged about once per interval, never more.
        t = nxt
        while t < start + 80:
            now[0] = t
            t = links.ping_due(t)
        counts = [r.beat.sent for r in recs]
        assert min(counts) >= 9 and max(counts) <= 12, (min(counts), max(counts))
        # A link whose worker is gone is visited once more, then never again.
        recs[0].gone = True
        now[0] = t + 16
        links.ping_due(now[0])
        before = recs[0].beat.sent
        now[0] += 16
        links.ping_due(now[0])
        assert recs[0].beat.sent == before
    finally:
        for fd in fds:
            os.close(fd)
        sel.close()


def test_local_workers_are_watched_not_polled():
    with netpool.DistributedPool(2) as pool:
        rt = pool._rt
        wait_for(lambda: rt.worker_count() == 2, timeout=60, what="two workers")
        recs = rt._workers.values()
        assert all(r.sentinel is not None for r in recs), [r.sentinel for r in recs]
        assert not rt._workers.polled
        assert pool.apply(abs, (-3,)) == 3


def test_a_worker_that_dies_starting_is_noticed_at_once_without_polling(tmp_path, monkeypatch):
    from netpool._runtime import workers
    polled = []
    real = workers.WorkerTable.exited_before_joining

    def spy(self):
        out = real(self)
        polled.append(len(self.polled))
        return out

    monkeypatch.setattr(workers.WorkerTable, "exited_before_joining", spy)
    m = netpool.Manager(python="false", output=str(tmp_path / "w%d.out"))  # exits at once
    m.heartbeat_timeout = 60.0
    try:
        for _ in range(3):
            m.add_worker(netpool.LocalWorker())
        c = m.get_context()
        c.add_task(SimpleTask(1))
        t0 = time.monotonic()
        with pytest.raises(netpool.NetworkError):
            list(c.get_results_unordered())
        assert time.monotonic() - t0 < 5.0
        assert not any(polled), f"starting workers were polled: {polled}"
    finally:
        m.close()
