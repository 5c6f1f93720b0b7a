"""Adaptive pools on local workers: grow from nothing for work, shrink when idle, stay put
under a steady load. (The same on real SLURM and Grid Engine: tests/launchers/test_walltime.py.)"""

from __future__ import annotations

import os
import time

import pytest

import netpool
from conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def _pid_after(seconds):
    time.sleep(seconds)  # the work itself: long enough that one worker cannot keep up
    return os.getpid()


def test_grows_from_zero_for_work_and_back_to_zero_when_idle():
    with netpool.DistributedPool(workers=[netpool.LocalWorker()], adapt=(0, 3)) as pool:
        pool.adapt(0, 3, idle_after=1.0)
        assert pool._rt.worker_count() == 0  # nothing launched before work asks for it
        pids = set(pool.map(_pid_after, [0.3] * 12, chunksize=1))
        assert len(pids) == 3, f"grew to the maximum for 12 waiting tasks, ran on {pids}"
        wait_for(lambda: pool._rt.worker_count() == 0, 30, what="idle workers to be retired")
        assert pool.map(abs, [-1, -2]) == [1, 2]  # and grows again
        wait_for(lambda: pool._rt.worker_count() == 0, 30, what="the pool to shrink again")


def test_minimum_is_kept_and_retired_workers_are_not_replaced():
    with netpool.DistributedPool(2) as pool:
        wait_for(lambda: pool._rt.worker_count() == 2, 30, what="both workers to join")
        pool.adapt(1, 2, idle_after=0.5)
        wait_for(lambda: pool._rt.worker_count() == 1, 30, what="the pool to shrink to 1")
        pid = pool.apply(os.getpid)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # a retired worker must not come back by itself
            assert pool._rt.worker_count() == 1
            time.sleep(0.1)
        assert pool.apply(os.getpid) == pid


def test_bad_bounds_and_launchers_that_cannot_grow():
    with netpool.DistributedPool(1) as pool:
        for bad in ((-1, 2), (3, 2), (0, 0)):
            with pytest.raises(ValueError):
                pool.adapt(*bad)
    with pytest.raises(ValueError, match="Pool not running"):
        pool.adapt(0, 2)


def test_manager_adapts_too(tmp_path):
    m = netpool.Manager(output=str(tmp_path / "worker%d.output"))
    m.add_worker(netpool.LocalWorker())
    m.adapt(0, 2, idle_after=1.0)
    c = m.get_context()
    for i in range(8):
        c.add_task(lambda i=i: _pid_after(0.3))
    try:
        pids = set(c.get_results_unordered())
        assert len(pids) == 2, f"grew to 2 workers for 8 tasks, ran on {pids}"
        wait_for(lambda: m._runtime.worker_count() == 0, 30, what="idle workers to be retired")
        with pytest.raises(netpool.Error, match="before results"):
            m.adapt(0, 3)
    finally:
        m.close()
