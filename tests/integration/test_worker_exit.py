"""A worker that ends runs ``multiprocessing``'s exit hooks, as a stdlib child does.

What a task puts on a ``multiprocessing.Queue`` is written by the queue's feeder thread after
``put`` returns; a process that ends without the exit hooks loses what is not written yet. The
items here take the feeder 0.05 s each to pickle, so a worker that skips the hooks loses them.
"""

import multiprocessing
import queue
import time

import pytest

import netpool
from _tasks import keep_queue, put_slowly, sleep_then
from conftest import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("how", ["close", "terminate", "with"])
def test_what_tasks_put_on_a_queue_arrives_however_the_pool_ends(how):
    q = multiprocessing.Queue()
    pool = netpool.DistributedPool(2, initializer=keep_queue, initargs=(q,))
    assert pool.map(put_slowly, range(4), chunksize=1) == [0, 1, 2, 3]
    if how == "close":
        pool.close()
    elif how == "terminate":
        pool.terminate()  # the workers are idle: they are asked to end, not killed
    else:
        pool.__exit__(None, None, None)
    pool.join()
    got = []
    try:
        while len(got) < 4:
            got.append(q.get(timeout=5))
    except queue.Empty:
        pass
    assert got == ["pickled slowly"] * 4


def test_a_worker_busy_in_a_task_is_still_killed_at_once_by_terminate():
    pool = netpool.DistributedPool(1)
    res = pool.apply_async(sleep_then, (60, None))
    wait_for(lambda: pool.stats()["totals"]["running"] == 1, what="the task to be sent")
    start = time.monotonic()
    pool.terminate()
    pool.join()
    assert time.monotonic() - start < 2.0
    with pytest.raises(netpool.Error):
        res.get(timeout=1)


STOPPED_SUPERVISOR = r"""
import ctypes, os, signal, sys
sys.path.insert(0, sys.argv[1])
import netpool
from _tasks import getpid, zombies_of_mine

# As PID 1 in a container: orphans become ours, and nothing else would reap them.
ctypes.CDLL(None).prctl(36, 1)
pool = netpool.DistributedPool(1)
worker = pool.apply(getpid)
with open(f"/proc/{worker}/stat") as f:
    supervisor = int(f.read().rsplit(")", 1)[1].split()[1])
os.kill(supervisor, signal.SIGSTOP)  # it cannot reap its worker in time
pool.terminate()
print(zombies_of_mine())
"""


STARTING = STOPPED_SUPERVISOR.split("# As PID 1")[0] + r"""
ctypes.CDLL(None).prctl(36, 1)
import time
for _ in range(5):
    netpool.DistributedPool(2).terminate()  # its workers are still starting
deadline = time.monotonic() + 5  # a zombie left for good stays; one being reaped goes
while zombies_of_mine() and time.monotonic() < deadline:
    time.sleep(0.05)
print(zombies_of_mine())
"""


def _zombies_left_by(tmp_path, program: str) -> str:
    """Run ``program`` (it prints its zombies) in a fresh interpreter; what it printed."""
    import subprocess
    import sys
    from conftest import HERE
    script = tmp_path / "prog.py"
    script.write_text(program)
    out = subprocess.run([sys.executable, str(script), HERE], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_workers_still_starting_when_terminated_leave_no_zombie(tmp_path):
    assert _zombies_left_by(tmp_path, STARTING) == "[]\n"


def test_a_supervisor_too_slow_to_reap_leaves_no_zombie(tmp_path):
    assert _zombies_left_by(tmp_path, STOPPED_SUPERVISOR) == "[]\n"
