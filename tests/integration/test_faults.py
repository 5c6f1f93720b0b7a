"""Failure handling end to end: silent workers, GIL-holding tasks, a manager killed with SIGKILL."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import netpool
from _tasks import hold_gil, getpid
from conftest import HERE, pid_alive, wait_for

pytestmark = pytest.mark.timeout(90)


def test_heartbeats_flow_while_a_task_holds_the_gil(tmp_path):
    """A 3 s C call holding the GIL must not look like death with a 1 s heartbeat timeout."""
    with netpool.DistributedPool(1, heartbeat_timeout=1.0) as pool:
        first = pool.apply(getpid)
        assert pool.apply(hold_gil, (3.0,)) == "held"
        assert pool.apply(getpid) == first  # the same worker: it was never declared dead


def test_silent_worker_is_declared_dead_and_its_task_rerun(tmp_path):
    """SIGSTOP freezes a worker and its supervisor: silence past the timeout reruns the task."""
    with netpool.DistributedPool(2, heartbeat_timeout=1.0) as pool:
        marker = tmp_path / "pid"
        from _tasks import slow_first_time
        res = pool.apply_async(slow_first_time, (str(marker), "done"))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="task start"))
        os.kill(pid, signal.SIGSTOP)
        for child in _children(pid):
            os.kill(child, signal.SIGSTOP)
        assert res.get(timeout=20) == "done"
        wait_for(lambda: not pid_alive(pid), timeout=10, what="the frozen worker to be killed")


def _parent(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


MANAGER_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {here!r})
    import netpool
    from _tasks import getpid, hold_gil, pid_after, sleep_then
    pool = netpool.DistributedPool(2, heartbeat_timeout=1.0)
    pids = set(pool.map(pid_after, [0.5, 0.5], chunksize=1))  # one task on each worker
    # one worker busy in Python (sleep), one in a GIL-holding C call
    pool.apply_async(sleep_then, (60, None))
    pool.apply_async(hold_gil, (60,))
    m = netpool.Manager(output={out!r})
    m.heartbeat_timeout = 1.0
    m.add_worker(netpool.LocalWorker())
    c = m.get_context()
    c.add_task(getpid)
    pids |= set(c.get_results_unordered())
    c.add_task(lambda: sleep_then(60, None))
    gen = c.get_results_unordered()
    import threading
    threading.Thread(target=lambda: next(gen, None), daemon=True).start()
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(120)
""")


def test_no_orphans_after_the_manager_is_killed(tmp_path):
    script = tmp_path / "manager.py"
    script.write_text(MANAGER_SCRIPT.format(here=HERE, out=str(tmp_path / "w%d.out")))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        import select
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the manager script did not report its workers within 30 s"
        line = proc.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 3, line
        workers = pids + [_parent(p) for p in pids]  # with their supervisors
        assert len(set(workers)) == 6
        proc.kill()
        proc.wait(10)
        wait_for(lambda: not any(pid_alive(p) for p in workers), timeout=15,
                 what=f"workers {workers} to exit after the manager died")
    finally:
        if proc.poll() is None:
            proc.kill()


def _kill_the_loop(rt):
    def boom(*_):
        raise RuntimeError("injected fault")
    rt._read = boom  # only the loop thread reads workers' links: the next message kills it


def test_a_dead_loop_is_never_silent_for_the_pool():
    import time
    from _tasks import inc
    pool = netpool.DistributedPool(1)
    try:
        assert pool.apply(inc, (1,)) == 2
        rt = pool._rt
        _kill_the_loop(rt)
        running = pool.apply_async(inc, (2,))  # its result arriving kills the loop
        with pytest.raises(netpool.Error, match="loop failed"):
            running.get(timeout=10)
        wait_for(lambda: not rt.alive, what="the loop thread to end")
        assert pool._state == "TERMINATE" and "TERMINATE" in repr(pool)
        for call in (lambda: pool.apply(inc, (1,)), lambda: pool.map(inc, range(3)),
                     lambda: pool.apply_async(inc, (1,)), lambda: list(pool.imap(inc, [1]))):
            start = time.monotonic()
            with pytest.raises(netpool.Error, match="manager loop failed.*injected fault"):
                call()
            assert time.monotonic() - start < 1.0
        # What reached the runtime without the facade (a race with the death) fails too.
        res = netpool.pool.ApplyResult()
        rt.submit([netpool.pool.Task(rt.task_ids(1)[0], 0, 0, b"", [], res)])
        with pytest.raises(netpool.Error, match="loop failed"):
            res.get(timeout=1)
    finally:
        pool.terminate()


def test_a_dead_loop_is_never_silent_for_the_manager(tmp_path):
    import time
    m = netpool.Manager(output=str(tmp_path / "w%d.out"))
    m.add_worker(netpool.LocalWorker())
    try:
        c = m.get_context()
        c.add_task(lambda: 1)
        assert list(c.get_results_unordered()) == [1]
        _kill_the_loop(m._runtime)
        c.add_task(lambda: 2)
        with pytest.raises(netpool.Error, match="loop failed"):
            list(c.get_results_unordered())
        wait_for(lambda: not m._runtime.alive, what="the loop thread to end")
        c.add_task(lambda: 3)
        start = time.monotonic()
        with pytest.raises(netpool.Error, match="manager loop failed.*injected fault"):
            list(c.get_results_unordered())
        assert time.monotonic() - start < 1.0
    finally:
        m.close()
