"""close() right after submitting: the most common pattern in tutorials (issue 8, item 4).

Every worker keeps taking tasks until none is left for it, and the close starts no process.
"""

import pytest

import netpool
from _tasks import rendezvous
from netpool.launchers.local import LocalWorker

pytestmark = pytest.mark.timeout(90)


def test_close_right_after_apply_async_keeps_every_worker_busy(tmp_path, monkeypatch):
    """Submitted before any worker joined, so the first to join holds most of the queue; the
    others must stay, steal and run tasks, not be stopped (and replaced) at once.

    Each task waits until four workers have run one, so the run completes promptly only if
    all four do; each returns its worker's pid."""
    starts = []
    real_start = LocalWorker._start
    monkeypatch.setattr(LocalWorker, "_start",
                        lambda self, *a: starts.append(self) or real_start(self, *a))
    with netpool.DistributedPool(4) as pool:
        results = [pool.apply_async(rendezvous, (str(tmp_path), 4)) for _ in range(12)]
        pool.close()
        pool.join()
        pids = [r.get(timeout=0) for r in results]
    assert len(set(pids)) == 4, f"tasks ran on {len(set(pids))} workers: {pids}"
    assert len(starts) == 4, f"{len(starts)} worker processes started for a pool of 4"

