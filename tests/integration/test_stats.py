"""``pool.stats()`` and ``manager.stats()`` against what ran, and the lifecycle log lines."""

import json
import logging
import os
import signal
import subprocess
import sys

import pytest

import netpool
from _tasks import always_die, getpid, slow_first_time, value_error_if
from conftest import wait_for

pytestmark = pytest.mark.timeout(120)

BAD = (1, 4, 7)


def _worker(stats, pid):
    return next((w for w in stats["workers"] if w["pid"] == pid), None)


def _check_sums(s):
    """Per-worker counts, departed workers' included, add up to the totals."""
    t = s["totals"]
    assert sum(w["tasks_done"] for w in s["workers"]) + t["departed_tasks_done"] == t["done"]
    assert sum(w["tasks_failed"] for w in s["workers"]) + t["departed_tasks_failed"] == \
        t["failed"] - s["failures"]["poison"] - sum(s["failures"]["manager"].values())
    assert json.loads(json.dumps(s)) == s  # plain values only


def test_stats_count_what_ran_with_a_worker_killed_mid_task(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="netpool")
    marker = tmp_path / "pid"
    with netpool.DistributedPool(2) as pool:
        first = pool.apply_async(slow_first_time, (str(marker), "rerun"))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="task start"))
        busy = wait_for(lambda: (_worker(pool.stats(), pid) or {}).get("running_since")
                        is not None and _worker(pool.stats(), pid), what="it to show running")
        assert busy["state"] == "live" and len(busy["tasks"]) == 1
        assert busy["host"] and isinstance(busy["launcher"], str)
        assert busy["heartbeat_age"] >= 0 and busy["running_since"] >= 0
        assert pool.stats()["totals"]["running"] == 1

        os.kill(pid, signal.SIGKILL)
        assert first.get(timeout=60) == "rerun"
        results = [pool.apply_async(value_error_if, (i, BAD)) for i in range(10)]
        raised = 0
        for r in results:
            try:
                r.get(timeout=60)
            except ValueError:
                raised += 1
        assert raised == len(BAD)
        # The link closes as the worker dies and its task is rerun at once; the cause of
        # death is read from the process's exit status a moment later, which a quick rerun
        # can beat.
        wait_for(lambda: pool.stats()["failures"]["worker_deaths"], timeout=30,
                 what="the worker's death to be recorded")
        s = pool.stats()

    t = s["totals"]
    assert (t["submitted"], t["done"], t["failed"]) == (11, 11 - len(BAD), len(BAD))
    assert (t["pending"], t["running"]) == (0, 0)
    assert s["failures"]["raised"] == {"ValueError": len(BAD)}
    assert s["failures"]["worker_deaths"] == {"killed by SIGKILL": 1}
    assert s["failures"]["poison"] == 0 and s["failures"]["manager"] == {}
    assert t["workers_departed"] == 1 and _worker(s, pid) is None
    assert s["queues"] == {"pending": 0, "on_workers": 0, "inbox": 0}
    _check_sums(s)

    text = caplog.text
    assert "joined" in text and "launched worker" in text
    assert "1 task(s) that were on worker" in text  # the killed one's task, requeued
    assert "launching a replacement for worker" in text  # a pool replaces, as the stdlib's
    assert any(r.levelno == logging.WARNING and "SIGKILL" in r.getMessage()
               for r in caplog.records)


def test_a_poison_task_is_counted_as_poison_and_its_deaths_as_deaths(caplog):
    caplog.set_level(logging.INFO, logger="netpool")
    with netpool.DistributedPool(1, max_attempts=2) as pool:
        with pytest.raises(netpool.PoisonTaskError):
            pool.apply(always_die)
        s = pool.stats()
    assert s["failures"]["poison"] == 1 and s["failures"]["raised"] == {}
    assert s["failures"]["worker_deaths"] == {"killed by SIGKILL": 2}
    assert (s["totals"]["failed"], s["totals"]["done"]) == (1, 0)
    _check_sums(s)
    assert "poison task: task" in caplog.text


def test_manager_stats_before_and_after_it_runs():
    m = netpool.Manager()
    before = m.stats()
    assert before["workers"] == [] and before["totals"]["submitted"] == 0
    m.add_worker(netpool.LocalWorker())
    try:
        c = m.get_context()
        for _ in range(4):
            c.add_task(getpid)
        pids = set(c.get_results_unordered())
        s = m.stats()
    finally:
        m.close()
    assert (s["totals"]["submitted"], s["totals"]["done"], s["totals"]["failed"]) == (4, 4, 0)
    assert [w["pid"] for w in s["workers"]] == list(pids)
    assert s["workers"][0]["tasks_done"] == 4
    _check_sums(s)


def test_netpool_log_prints_lifecycle_lines_on_stderr():
    code = ("import netpool\n"
            "with netpool.DistributedPool(1) as p: print(p.apply(abs, (-3,)))\n")
    env = dict(os.environ, NETPOOL_LOG="info")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.stdout.strip() == "3", out.stderr
    assert "INFO netpool: launched worker 0" in out.stderr
    assert "INFO netpool: worker 0" in out.stderr and "joined" in out.stderr
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "NETPOOL_LOG"},
                           timeout=60)
    assert quiet.stdout.strip() == "3" and "launched worker" not in quiet.stderr
