"""``netpool doctor [--workers SPEC] [--host HOST]``: one tiny task through the real launcher.

It answers the questions a first cluster run raises, in the order they fail: which address the
workers are told to connect to, whether the scheduler accepted the job (its own words if not:
a rejected directive, an unknown partition), the job id, how long the worker took to connect
and run a task, and where it ran. When the worker never connects, the error carries the last
lines of its output file, which is where a wrong interpreter or an unreachable address shows.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Optional


def _probe() -> dict:
    """Runs on the worker: where it is and what it runs."""
    import socket
    import sys

    import netpool
    env = {k: v for k, v in os.environ.items()
           if k in ("SLURM_JOB_ID", "SLURM_ARRAY_TASK_ID", "JOB_ID", "SGE_TASK_ID",
                    "PBS_JOBID", "LSB_JOBID", "SSH_CONNECTION")}
    return {"host": socket.gethostname(), "pid": os.getpid(), "python": sys.executable,
            "version": sys.version.split()[0], "netpool": netpool.__version__,
            "cwd": os.getcwd(), "env": env}


def doctor(spec: str, host: Optional[str] = None, timeout: float = 300.0,
           python: Optional[str] = None, say: Callable[[str], None] = print) -> int:
    """Run the check; 0 if a task ran, 1 if something failed (said on ``say``).

    Raises ValueError for a bad ``spec`` (:func:`netpool.cli.parse_workers`). Worker output
    goes to files in a ``netpool-doctor-*`` folder of the current directory (batch workers
    need a shared filesystem, as for any run); it is removed after a success and kept, and
    named, after a failure.
    """
    import shutil
    import tempfile

    from .cli import parse_workers
    from .errors import Error
    from .manager import Manager

    launchers = parse_workers(spec)
    folder = tempfile.mkdtemp(prefix="netpool-doctor-", dir=os.getcwd())
    manager = Manager(python=python, host=host, output=os.path.join(folder, "worker%d.output"))
    manager.connect_timeout = timeout
    for launcher in launchers:
        manager.add_worker(launcher)
    ok = False
    start = time.monotonic()
    try:
        context = manager.get_context()
        context.add_task(_probe)
        try:
            results = context.get_results_unordered()
            info = next(results)
        except (Error, OSError, ValueError) as exc:
            _said_where(manager, launchers, say)
            say(f"FAILED after {time.monotonic() - start:.1f} s: {type(exc).__name__}: {exc}")
            say(f"the workers' output files are kept in {folder}")
            return 1
        _said_where(manager, launchers, say)
        say(f"a task ran after {time.monotonic() - start:.2f} s on {info['host']} "
            f"(pid {info['pid']}), Python {info['version']} at {info['python']}, "
            f"netpool {info['netpool']}")
        say(f"  its working directory: {info['cwd']}")
        for key, value in sorted(info["env"].items()):
            say(f"  {key}={value}")
        say("OK")
        ok = True
        return 0
    finally:
        manager.close()
        if ok:
            shutil.rmtree(folder, ignore_errors=True)


def _said_where(manager, launchers, say: Callable[[str], None]) -> None:
    if manager.address is not None:
        say(f"manager listening on port {manager.address[1]}; workers are told to connect to "
            f"{', '.join(manager.addresses)}")
    for launcher in launchers:
        job = getattr(launcher, "job_id", None)
        say(f"launched {launcher!r}" + (f": job {job}" if job else ""))
