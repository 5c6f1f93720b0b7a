import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # tests/_tasks.py, importable by workers through sys.path


# Workers on "other hosts" (ssh, SLURM, SGE) run on this machine in tests: keep every
# connection on loopback. tests/transport/test_addresses.py checks the default choice itself.
os.environ.setdefault("NETPOOL_HOST", "127.0.0.1")


def wait_for(condition, timeout=10.0, interval=0.01, what="condition"):
    """Poll ``condition`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def another_program_run():
    """What follows opens journals as the next run of the program would (another process):
    the calls of this process so far are not this run's (docs/journal.md, "What is assumed")."""
    from netpool._runtime import journal
    journal._program_runs.clear()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
