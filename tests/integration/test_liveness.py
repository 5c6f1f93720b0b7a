"""Liveness of the worker itself and of its supervisor, children of tasks, task_timeout.

Each test kills or stops one process of a worker's tree (supervisor -> worker -> a task's
children) and checks, with deadlines, that the pool notices in time and no pid survives.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import netpool
from _tasks import (fork_and_return, fork_sleeper, getpid, hog_gil_later, setsid_sleeper,
                    sleep_then)
from conftest import HERE, pid_alive, wait_for

pytestmark = pytest.mark.timeout(90)


def _parent(pid):
    """The worker's supervisor: its parent, which the pool started."""
    with open(f"/proc/{pid}/stat") as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert ppid != os.getpid(), "the worker is the pool's own child: no supervisor above it"
    return ppid


def _kids(folder):
    return [int(n.split(".")[1]) for n in os.listdir(folder) if n.startswith("child.")]


def test_a_stopped_worker_is_detected_though_its_supervisor_runs(tmp_path):
    with netpool.DistributedPool(1, heartbeat_timeout=1.0) as pool:
        from _tasks import slow_first_time
        marker = tmp_path / "pid"
        res = pool.apply_async(slow_first_time, (str(marker), "done"))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="task start"))
        sup = _parent(pid)
        os.kill(pid, signal.SIGSTOP)  # the worker only: its supervisor keeps beating
        assert res.get(timeout=15) == "done"
        wait_for(lambda: not pid_alive(pid) and not pid_alive(sup), timeout=10,
                 what="the stopped worker and its supervisor to be gone")


def test_a_worker_hung_outside_a_task_is_detected(tmp_path):
    """A thread left by a task holds the GIL: the worker can serve nothing, yet beats."""
    with netpool.DistributedPool(1, heartbeat_timeout=1.0) as pool:
        pid = pool.apply(hog_gil_later, (0.2, 60, str(tmp_path / "hogging")))
        sup = _parent(pid)
        wait_for(lambda: (tmp_path / "hogging").exists(), what="the GIL to be taken")
        start = time.monotonic()
        assert pool.apply_async(getpid).get(timeout=20) != pid  # a replacement ran it
        assert time.monotonic() - start < 15
        wait_for(lambda: not pid_alive(pid) and not pid_alive(sup), timeout=10,
                 what="the hung worker and its supervisor to be gone")


def test_a_dead_supervisor_takes_its_worker_at_once(tmp_path):
    """With the default 30 s heartbeat timeout: noticed by the worker's death, not silence."""
    with netpool.DistributedPool(1) as pool:
        from _tasks import slow_first_time
        marker = tmp_path / "pid"
        res = pool.apply_async(slow_first_time, (str(marker), "done"))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="task start"))
        sup = _parent(pid)
        os.kill(sup, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid), timeout=5, what="the worker to die with it")
        assert res.get(timeout=10) == "done"


def test_the_worker_exit_status_is_the_supervisors(tmp_path):
    """Error messages still say how the worker ended."""
    from _tasks import always_die
    with netpool.DistributedPool(1, max_attempts=1) as pool:
        with pytest.raises(netpool.PoisonTaskError, match="killed by SIGKILL"):
            pool.apply(always_die)


def test_task_timeout_is_reported(tmp_path):
    with netpool.DistributedPool(1, task_timeout=1.0, max_attempts=1) as pool:
        start = time.monotonic()
        with pytest.raises(netpool.PoisonTaskError, match="past task_timeout=1"):
            pool.apply(sleep_then, (60, None))
        assert time.monotonic() - start < 15
        assert pool.apply(sleep_then, (0.1, "fine")) == "fine"  # a quick task is left alone
    with pytest.raises(ValueError):
        netpool.DistributedPool(1, task_timeout=0)


def test_task_timeout_under_the_manager_api(tmp_path):
    m = netpool.Manager(output=str(tmp_path / "w%d.out"))
    m.task_timeout = 1.0
    m.add_worker(netpool.LocalWorker())
    try:
        c = m.get_context()
        c.add_task(lambda: sleep_then(60, None))
        start = time.monotonic()
        # Its only worker was killed, and a Manager does not replace workers: the error says why.
        with pytest.raises(netpool.NoMoreWorkersError, match="past task_timeout=1 and was kill"):
            list(c.get_results_unordered())
        assert time.monotonic() - start < 15
    finally:
        m.close()


def test_children_that_return_from_a_task_never_act_as_the_worker(tmp_path):
    with netpool.DistributedPool(1) as pool:
        pid = pool.apply(getpid)
        got = pool.map(fork_and_return, [str(tmp_path)] * 6, chunksize=1)
        assert got == [pid] * 6  # only the worker's own values
        kids = wait_for(lambda: len(_kids(tmp_path)) == 6 and _kids(tmp_path), what="children")
        wait_for(lambda: not any(pid_alive(k) for k in kids), timeout=10,
                 what="the returned children to exit")
        assert pool.map(getpid, range(20)) == [pid] * 20


def test_a_killed_worker_is_noticed_at_once_and_its_childrens_are_gone(tmp_path):
    """Children hold no copy of the worker's link, and die with the worker's group."""
    with netpool.DistributedPool(1) as pool:  # a 30 s heartbeat timeout: not what notices
        marker = tmp_path / "pid"
        res = pool.apply_async(fork_sleeper, (str(tmp_path), 60, str(marker)))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="task start"))
        kids = wait_for(lambda: _kids(tmp_path), what="the task's child")
        os.kill(pid, signal.SIGKILL)
        start = time.monotonic()
        assert res.get(timeout=10) == "rerun"
        assert time.monotonic() - start < 8
        wait_for(lambda: not any(pid_alive(k) for k in kids), timeout=10,
                 what="the task's children to be cleaned up with the worker")


def test_a_child_in_a_session_of_its_own_goes_with_its_worker(tmp_path):
    """``setsid`` leaves the worker's process group; the supervisor still finds and kills it."""
    with netpool.DistributedPool(1) as pool:
        marker = tmp_path / "pid"
        res = pool.apply_async(setsid_sleeper, (str(tmp_path), 60, str(marker)))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="task start"))
        kids = wait_for(lambda: _kids(tmp_path), what="the task's child")
        assert os.getsid(kids[0]) != os.getsid(pid)  # it really left the worker's session
        os.kill(pid, signal.SIGKILL)
        assert res.get(timeout=10) == "rerun"
        wait_for(lambda: not any(pid_alive(k) for k in kids), timeout=10,
                 what="the task's setsid child to be killed with the worker")


MANAGER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {here!r})
    import netpool
    from _tasks import getpid, hold_gil, fork_sleeper
    pool = netpool.DistributedPool(2, heartbeat_timeout=1.0, window=1)
    first, second = pool.map(getpid, [0, 1], chunksize=1)
    pool.apply_async(hold_gil, (60,))
    pool.apply_async(fork_sleeper, ({folder!r}, 60, {folder!r} + "/marker"))
    print(os.getpid(), flush=True)
    time.sleep(120)
""")


def _workers_of(manager_pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(manager_pid)], capture_output=True,
                         text=True).stdout.split()
    sups = [int(p) for p in out]
    workers = [int(p) for s in sups for p in subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(s)], capture_output=True, text=True).stdout.split()]
    return sups, workers


@pytest.mark.parametrize("first", ["supervisor", "worker", "manager"])
def test_no_combination_of_deaths_leaves_a_process(tmp_path, first):
    """Kill one process of the tree, then the manager: every pid is gone, GIL or not."""
    script = tmp_path / "manager.py"
    folder = tmp_path / "kids"
    folder.mkdir()
    script.write_text(MANAGER.format(here=HERE, folder=str(folder)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert int(proc.stdout.readline()) == proc.pid
        wait_for(lambda: (folder / "marker").exists() and _kids(folder), timeout=20,
                 what="the forking task to start")
        sups, workers = wait_for(lambda: len(_workers_of(proc.pid)[1]) == 2
                                 and _workers_of(proc.pid), what="two supervised workers")
        everyone = sups + workers + _kids(folder)
        if first == "supervisor":
            for s in sups:
                os.kill(s, signal.SIGKILL)
        elif first == "worker":
            for w in workers:
                os.kill(w, signal.SIGSTOP)
        proc.kill()
        proc.wait(10)
        wait_for(lambda: not any(pid_alive(p) for p in everyone), timeout=15,
                 what=f"every process of {everyone} to be gone")
    finally:
        if proc.poll() is None:
            proc.kill()
