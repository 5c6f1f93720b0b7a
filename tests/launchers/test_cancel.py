"""Jobs that never started are cancelled when the manager ends: on close, on an exception, on
Ctrl-C. A job held in the queue proves it: its workers never run, so only the cancel command
(scancel, qdel) can take it out of the queue."""

import subprocess
import sys
import textwrap

import pytest

from test_backends import SRC, job_gone, unavailable, wait_until

HELD = {"slurm": ("SLURMWorkerArray", "--time=5 --begin=now+3600"),  # starts in an hour
        "sge": ("SGEQsubWorkerArray", "-h -N netpool_held")}          # on hold

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {src!r})
    import netpool
    array = netpool.{cls}(2, {options!r})
    pool = netpool.DistributedPool(workers=[array], connect_timeout=600)
    print(array.job_id, flush=True)
    how = {how!r}
    if how == "close":
        pool.terminate()
        pool.join()
    elif how == "error":
        raise RuntimeError("the user's script failed")
    else:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        signal.pause()
""")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["close", "error", "ctrl-c"])
@pytest.mark.parametrize("backend", sorted(HELD))
def test_a_held_job_is_cancelled_when_the_manager_ends(backend, how, tmp_path):
    why = unavailable(backend)
    if why:
        pytest.skip(f"{backend} backend unavailable: {why}")
    cls, options = HELD[backend]
    script = tmp_path / "manager.py"
    script.write_text(SCRIPT.format(src=SRC, cls=cls, options=options, how=how))
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=90)
    job = proc.stdout.strip().splitlines()[0]
    assert proc.returncode != 0 if how != "close" else proc.returncode == 0, proc.stderr
    wait_until(lambda: job_gone(backend, job), 60, f"held job {job} to be cancelled")
