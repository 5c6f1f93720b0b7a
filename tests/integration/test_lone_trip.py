"""The lone round trip (issue 8 item 7): one task to an idle worker and its one result back,
decided by the core's lone path (``_core/lone.py``) without events or command objects.

Each test checks that the path was taken (counted on the scheduler) and that what the user
sees is what the generic path gives: values, errors, callbacks on the loop thread, a worker
dying mid-task, other work arriving meanwhile, a journal.
"""

import os
import threading
from collections import Counter

import pytest

import netpool
from conftest import another_program_run, wait_for

import _tasks

pytestmark = pytest.mark.timeout(120)


def inc(x):
    return x + 1


def lone_counts(pool) -> Counter:
    """How often each lone path decided (not declined), from now on."""
    sched, taken = pool._rt._sched, Counter()
    for name in ("submit_one", "result_one"):
        def counted(*args, _method=getattr(sched, name), _name=name):
            got = _method(*args)
            if got is not None:
                taken[_name] += 1
            return got
        setattr(sched, name, counted)  # called under the runtime's lock: no race on taken
    return taken


def handled(pool):
    """Wait until the loop has handled every submit posted to its inbox so far."""
    wait_for(lambda: not pool._rt._inbox, timeout=30, what="the inbox drained")
    with pool._rt._lock:  # the loop handles what it popped under this lock
        pass


def ready_pool(**kwargs):
    pool = netpool.DistributedPool(2, **kwargs)
    wait_for(lambda: pool._rt.worker_count() == 2, timeout=60, what="both workers")
    return pool


def test_sequential_applies_take_the_lone_path_both_ways():
    with ready_pool() as pool:
        taken = lone_counts(pool)
        assert [pool.apply(inc, (i,)) for i in range(50)] == list(range(1, 51))
        with pytest.raises(ValueError, match="Worker error"):
            pool.apply(_tasks.error_task)
        assert taken["submit_one"] == 51 and taken["result_one"] == 51, taken
        assert pool.stats()["totals"]["done"] >= 50


def test_callbacks_run_once_on_the_loop_thread():
    with ready_pool() as pool:
        taken = lone_counts(pool)
        seen = []
        for i in range(10):
            r = pool.apply_async(inc, (i,), callback=lambda v: seen.append(
                (v, threading.current_thread().name)))
            assert r.get(30) == i + 1
            assert seen[-1] == (i + 1, "netpool-loop")  # done before get() returned
        errors = []
        r = pool.apply_async(_tasks.error_task, error_callback=errors.append)
        r.wait(30)
        assert not r.successful() and len(errors) == 1 and isinstance(errors[0], ValueError)
        assert len(seen) == 10
        assert taken["submit_one"] == 11 and taken["result_one"] == 11, taken


def test_a_lone_task_whose_worker_dies_runs_again(tmp_path):
    with ready_pool() as pool:
        taken = lone_counts(pool)
        marker = str(tmp_path / "died")
        assert pool.apply(_tasks.die_once, (marker, 7)) == 7
        assert os.path.exists(marker)
        assert taken["submit_one"] >= 1  # sent by the lone path, rerun after the death
        assert [pool.apply(inc, (i,)) for i in range(5)] == [1, 2, 3, 4, 5]
        assert taken["result_one"] >= 5


def test_lone_tasks_beside_work_that_waits(tmp_path):
    """Two slow tasks take both workers by the lone path; what comes meanwhile waits
    (the generic path); once they are done, the lone path takes over again."""
    with ready_pool() as pool:
        taken = lone_counts(pool)
        slow = [pool.apply_async(_tasks.sleep_then, (0.3, name)) for name in ("a", "b")]
        # A submit that finds the loop in a round goes through its inbox: counted later.
        wait_for(lambda: taken["submit_one"] == 2, timeout=30, what="both slow tasks sent")
        queued = [pool.apply_async(inc, (i,)) for i in range(6)]
        handled(pool)
        if not all(r.ready() for r in slow):  # both workers still busy when they came
            assert taken["submit_one"] == 2  # nobody idle: the generic path
        assert [r.get(30) for r in slow] == ["a", "b"]
        assert [r.get(30) for r in queued] == [1, 2, 3, 4, 5, 6]
        before = taken["submit_one"]
        assert [pool.apply(inc, (i,)) for i in range(5)] == [1, 2, 3, 4, 5]
        assert taken["submit_one"] == before + 5


def test_lone_tasks_with_a_journal_are_recorded_and_answered(tmp_path):
    journal, runs = str(tmp_path / "journal.db"), str(tmp_path / "runs")
    with ready_pool(journal=journal) as pool:
        taken = lone_counts(pool)
        assert [pool.apply(_tasks.note_run, (runs, i)) for i in range(5)] == list(range(5))
        assert taken["submit_one"] == 5 and taken["result_one"] == 5, taken
    another_program_run()
    with ready_pool(journal=journal) as pool:
        assert [pool.apply(_tasks.note_run, (runs, i)) for i in range(6)] == list(range(6))
    with open(runs) as f:
        assert f.read().split() == ["0", "1", "2", "3", "4", "5"]  # 0-4 from the journal
