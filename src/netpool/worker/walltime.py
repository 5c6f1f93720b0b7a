"""When this worker's batch job ends, if it has a walltime: the worker tells the manager, which
stops giving it tasks that would not finish in time and submits its replacement early.

Two sources, the first that answers: ``NETPOOL_JOB_END`` (seconds since the epoch), which a
netpool job script with ``walltime=`` exports as the job starts; and, inside a SLURM job,
the job's own record (``scontrol show job``: its ``EndTime``), so a limit set by the site or
by ``options="--time=..."`` counts too.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime
from typing import Optional

JOB_END_ENV = "NETPOOL_JOB_END"


def job_end() -> Optional[float]:
    """The job's end as seconds since the epoch, or None (no limit known, not a batch job)."""
    text = os.environ.get(JOB_END_ENV, "").strip()
    if text:
        try:
            return float(text)
        except ValueError:
            return None
    job = os.environ.get("SLURM_JOB_ID")
    return _slurm_end(job) if job else None


def _slurm_end(job: str) -> Optional[float]:
    try:
        out = subprocess.run(["scontrol", "show", "job", "-o", job], capture_output=True,
                             text=True, timeout=10, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_slurm_end_time(out)


def parse_slurm_end_time(record: str) -> Optional[float]:
    """``EndTime=2026-12-01T23:40:00`` (local time) in a ``scontrol show job`` record -> epoch
    seconds; None for ``Unknown``, ``None`` or a missing field. Pure but for the time zone."""
    for word in record.split():
        if word.startswith("EndTime="):
            try:
                return datetime.strptime(word[8:], "%Y-%m-%dT%H:%M:%S").timestamp()
            except ValueError:
                return None
    return None


def remaining() -> Optional[float]:
    """Seconds until the job ends (may be <= 0), or None."""
    end = job_end()
    return None if end is None else end - time.time()
