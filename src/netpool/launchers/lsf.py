"""Workers on IBM Spectrum LSF: one ``bsub`` job array.

**Not tested against a real LSF**: none exists on the machines this project is tested on (it is
commercial; Debian packages only a Globus adapter that needs one). The argv and job script are
golden-tested and the script is run under dash with ``LSB_JOBINDEX`` set; the submit/cancel
path is tested against stub commands. Reports from real LSF sites are welcome.

:class:`LSFWorkerArray` submits ``bsub -J "netpool[1-N]" -o lsf-errors <options>`` with the job
script on bsub's standard input; the script picks the worker for ``$LSB_JOBINDEX``. LSF's own
job output (only the script's errors, since each worker writes its own file) goes to
``lsf-errors`` in the working directory instead of mail. ``_stop`` runs ``bkill JOBID``.

What it assumes: ``bsub`` and ``bkill`` on the PATH of the manager process; a filesystem shared
by the manager and the nodes, at the same paths, for the authkey file (KEY_FILE delivery), the
output files and the working directory; the interpreter command valid on the nodes (LSF passes
the submitter's environment by default).

Errors: :class:`~netpool.errors.LauncherError` when a command is missing ("must be on the PATH
of the manager process"), fails, or prints no job id.
"""

from __future__ import annotations

import re
import shlex

from ..errors import LauncherError
from .batch import ArrayMember, BatchWorkerArray
from .jobs import JobSettings


def lsf_bsub_argv(numworker: int, options: str = "",
                  settings: JobSettings = JobSettings()) -> list[str]:
    """``bsub -J NAME[1-N] -o LOG <settings> <options>`` (script on stdin; LOG defaults to
    ``lsf-errors``). Pure."""
    return ["bsub", "-J", f"{settings.name}[1-{int(numworker)}]",
            "-o", settings.log or "lsf-errors", *lsf_settings_argv(settings),
            *shlex.split(options)]


def lsf_settings_argv(settings: JobSettings) -> list[str]:
    """bsub options for ``settings`` (not the name or log). Pure.

    The walltime ``-W H:MM`` is rounded up to whole minutes; cores are ``-n N`` on one host
    (``span[hosts=1]``); memory is ``-M <MB>MB`` with its unit spelled out, since the default
    unit of ``-M`` depends on the site's ``LSF_UNIT_FOR_LIMITS``.
    """
    out = []
    if settings.seconds is not None:
        minutes = -(-settings.seconds // 60)
        out += ["-W", f"{minutes // 60}:{minutes % 60:02d}"]
    if settings.cores is not None:
        out += ["-n", str(settings.cores), "-R", "span[hosts=1]"]
    if settings.mb is not None:
        out += ["-M", f"{settings.mb}MB"]
    if settings.queue is not None:
        out += ["-q", settings.queue]
    if settings.account is not None:
        out += ["-P", settings.account]
    return out


def parse_bsub_job_id(stdout: str) -> str:
    """``Job <1234> is submitted to default queue <normal>.`` -> ``1234``."""
    match = re.search(r"Job <(\d+)>", stdout)
    if match is None:
        raise LauncherError(f"bsub printed no job id: {stdout.strip() or '(no output)'}")
    return match.group(1)


class _LSFWorker(ArrayMember):
    label = "LSF worker"


class LSFWorkerArray(BatchWorkerArray):
    """``numworker`` workers as one LSF job array.

    ``options`` are extra bsub options (a shell string, e.g. ``"-R select[avx2]"``), after
    netpool's own; the keyword arguments are :class:`~netpool.launchers.jobs.JobSettings`
    (``walltime=``, ``memory=``, ``cores=``, ``queue=``, ``account=`` as the project,
    ``job_name=``, ``log=``, ``directives=`` as ``#BSUB`` lines, ``prologue=``).
    """

    member_class = _LSFWorker
    index_expr = "$LSB_JOBINDEX"
    cancel_ignore = ("already finished", "No matching job found")
    directive_prefix = "#BSUB"

    def submit_argv(self) -> list[str]:
        return lsf_bsub_argv(self._numworker, self._options, self.settings)

    def parse_job_id(self, stdout: str) -> str:
        return parse_bsub_job_id(stdout)

    def member_id(self, job_id: str, index: int) -> str:
        return f"{job_id}[{index}]"

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["bkill", job_id]
