"""Runs longer than one job's walltime, on the real SLURM and Grid Engine that
``ci/start_schedulers.sh`` brings up: each worker learns when its job ends, stops taking tasks
that would not finish in time, has its replacement job submitted before it drains, and exits
gracefully; no task is cut off at the walltime (each one runs exactly once) or charged.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from test_backends import (CONNECT, HEARTBEAT, JOB_NAME, Cleanup, job_gone, pool_python,
                           unavailable, wait_until)

# A limit only the scheduler knows is SLURM's --time, whose grain is a minute. Given as
# walltime=, it is the worker's own (NETPOOL_JOB_END; SGE's h_rt in seconds, SLURM's --time
# rounded up to a minute), so those runs can be a third as long.
WALLTIME = {"job": 60, "setting": 20}  # seconds
TASK_SECONDS = 0.5


def _tasks(walltime: int) -> int:
    """Enough for 2 workers to work 1.2 walltimes: 288 tasks for 60 s, 96 for 20 s. The
    first two drain ~3 s before their end (``_core/walltime.py``: a 2 s margin and 1.5
    tasks), so their successors, launched 5-6 s before it, run the last 15-20 % (the test's
    longest run: SLURM's --time has a grain of a minute, so that one lasts ~70 s)."""
    return int(1.2 * walltime * 2 / TASK_SECONDS)


@pytest.fixture(params=["slurm", "sge"])
def kind(request):
    why = unavailable(request.param)
    if why:
        pytest.skip(f"{request.param} backend unavailable: {why}")
    return request.param


def _task(args):
    """Records each execution (a file per run), then works for a while."""
    import os
    import time
    i, folder = args
    open(os.path.join(folder, f"ran.{i}.{os.getpid()}"), "w").close()
    time.sleep(TASK_SECONDS)
    return i, os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ.get("JOB_ID")


@pytest.mark.timeout(400)
@pytest.mark.parametrize("source", ["setting", "job"])
def test_a_run_longer_than_the_walltime_loses_and_repeats_nothing(kind, source, tmp_path,
                                                                   monkeypatch):
    """``source``: the walltime given as ``walltime=``, or only to the scheduler (SLURM's
    ``--time``), which the worker then reads from its job's record."""
    import netpool
    monkeypatch.chdir(tmp_path)
    if source == "job" and kind != "slurm":
        pytest.skip("only SLURM jobs tell their end time; Grid Engine needs walltime=")
    cls = netpool.SLURMWorkerArray if kind == "slurm" else netpool.SGEQsubWorkerArray
    walltime, tasks = WALLTIME[source], _tasks(WALLTIME[source])
    array = (cls(2, job_name=JOB_NAME, walltime=walltime) if source == "setting"
             else cls(2, f"--time={walltime // 60}", job_name=JOB_NAME))
    cleanup = Cleanup(kind)
    pool = netpool.DistributedPool(workers=[array], python=pool_python(),
                                   heartbeat_timeout=HEARTBEAT, connect_timeout=CONNECT)
    cleanup.stoppers.append(pool.terminate)
    cleanup.launchers.append(array)
    marks = tmp_path / "marks"
    marks.mkdir()
    try:
        results = pool.map(_task, [(i, str(marks)) for i in range(tasks)], chunksize=1)
        assert [i for i, _ in results] == list(range(tasks))
        runs = {}
        for path in marks.iterdir():
            i = int(path.name.split(".")[1])
            runs[i] = runs.get(i, 0) + 1
        repeated = {i: n for i, n in runs.items() if n != 1}
        assert not repeated, f"tasks run more than once (cut off at the walltime): {repeated}"
        jobs = {job for _, job in results}
        assert len(jobs) >= 2, f"replacement jobs ran tasks: only {jobs}"
        address = pool.address
        pool.close()
        pool.join(60)
        for job in jobs:
            wait_until(lambda: job_gone(kind, job), 90, f"job {job} to leave the queue")
    finally:
        cleanup.finish()


def _job_of(seconds):
    import os
    import time
    time.sleep(seconds)
    return os.environ.get("SLURM_JOB_ID") or f"{os.environ.get('JOB_ID')}.{os.environ.get('SGE_TASK_ID')}"


@pytest.mark.timeout(300)
def test_adapt_grows_from_zero_to_n_and_back_on_the_real_scheduler(kind, tmp_path, monkeypatch):
    """adapt=(0, 3): no job before work; 12 tasks bring 3 jobs; idle, they are retired and
    leave the queue; the queue is empty after close."""
    import netpool
    monkeypatch.chdir(tmp_path)
    cls = netpool.SLURMWorkerArray if kind == "slurm" else netpool.SGEQsubWorkerArray
    template = cls(1, job_name=JOB_NAME)
    cleanup = Cleanup(kind)
    pool = netpool.DistributedPool(workers=[template], python=pool_python(),
                                   heartbeat_timeout=HEARTBEAT, connect_timeout=CONNECT,
                                   adapt=(0, 3))
    cleanup.stoppers.append(pool.terminate)
    try:
        pool.adapt(0, 3, idle_after=3.0)
        assert template.job_id is None, "nothing submitted before work asks for it"
        jobs = set(pool.map(_job_of, [1.0] * 12, chunksize=1))
        assert len(jobs) == 3, f"grew to 3 workers for 12 waiting tasks, ran in {jobs}"
        wait_until(lambda: pool._rt.worker_count() == 0, 60, "idle workers to be retired")
        ids = {j.split(".")[0] for j in jobs}
        for job in ids:
            wait_until(lambda: job_gone(kind, job), 90, f"retired job {job} to leave the queue")
        pool.close()
        pool.join(60)
    finally:
        cleanup.finish()
