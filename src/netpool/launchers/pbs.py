"""Workers on PBS Pro / OpenPBS (and Torque): one ``qsub`` job array.

**Not tested against a real server**: no PBS or Torque server exists on the machines this
project is tested on (Debian 12 packages none). The argv and job script are golden-tested and
the script is run under dash with the array variables set; the submit/cancel path is tested
against stub commands. Reports from real PBS sites are welcome.

:class:`PBSWorkerArray` submits ``qsub -N netpool -j oe -J 1-N <options>`` with the job script
on qsub's standard input; the script picks the worker for ``${PBS_ARRAY_INDEX:-$PBS_ARRAYID}``
(PBS Pro sets the first, Torque the second). With one worker no array is used (PBS Pro rejects
``-J 1-1``) and the script runs worker 1. Torque spells the array option ``-t``: set
``PBSWorkerArray.array_option = "-t"`` (or on a subclass). ``_stop`` runs ``qdel JOBID``.

What it assumes: ``qsub`` and ``qdel`` on the PATH of the manager process; a filesystem shared
by the manager and the nodes, at the same paths, for the authkey file (KEY_FILE delivery), the
output files and the working directory (PBS starts jobs in $HOME; the script ``cd``s back);
the interpreter command valid on the nodes (PBS does not export the manager's environment
unless ``options`` has ``-V``: an absolute interpreter path is safest).

Errors: :class:`~netpool.errors.LauncherError` when a command is missing ("must be on the PATH
of the manager process"), fails, or prints no job id.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from ..errors import LauncherError
from .batch import ArrayMember, BatchWorkerArray
from .jobs import JobSettings, hms

PBS_INDEX = "${PBS_ARRAY_INDEX:-$PBS_ARRAYID}"
PBS_SINGLE_INDEX = "${PBS_ARRAY_INDEX:-${PBS_ARRAYID:-1}}"  # no array: worker 1


def pbs_qsub_argv(numworker: int, options: str = "", array_option: str = "-J",
                  settings: JobSettings = JobSettings()) -> list[str]:
    """``qsub -N NAME -j oe [-J 1-N] <settings> <options>``; no array option for one
    worker. Pure."""
    argv = ["qsub", "-N", settings.name, "-j", "oe"]
    if int(numworker) > 1:
        argv += [array_option, f"1-{int(numworker)}"]
    return argv + pbs_settings_argv(settings, torque=array_option == "-t") + shlex.split(options)


def pbs_settings_argv(settings: JobSettings, torque: bool = False) -> list[str]:
    """qsub options for ``settings`` (not the job name). Pure.

    Cores and memory are one chunk in PBS Pro's ``-l select=1:ncpus=N:mem=Mmb``; Torque spells
    them ``-l nodes=1:ppn=N`` and ``-l mem=Mmb``.
    """
    out = []
    if settings.seconds is not None:
        out += ["-l", f"walltime={hms(settings.seconds)}"]
    if torque:
        if settings.cores is not None:
            out += ["-l", f"nodes=1:ppn={settings.cores}"]
        if settings.mb is not None:
            out += ["-l", f"mem={settings.mb}mb"]
    elif settings.cores is not None or settings.mb is not None:
        chunk = "select=1"
        if settings.cores is not None:
            chunk += f":ncpus={settings.cores}"
        if settings.mb is not None:
            chunk += f":mem={settings.mb}mb"
        out += ["-l", chunk]
    if settings.queue is not None:
        out += ["-q", settings.queue]
    if settings.account is not None:
        out += ["-A", settings.account]
    if settings.log is not None:
        out += ["-o", settings.log]
    return out


def parse_pbs_job_id(stdout: str) -> str:
    """qsub prints the job id alone: ``1234[].server`` (array) or ``1234.server``."""
    for line in stdout.splitlines():
        match = re.match(r"\s*(\d+(?:\[\])?(?:\.\S+)?)\s*$", line)
        if match:
            return match.group(1)
    raise LauncherError(f"qsub printed no job id: {stdout.strip() or '(no output)'}")


def pbs_member_id(job_id: str, index: int) -> str:
    """``1234[].server``, 2 -> ``1234[2].server``; a job that is not an array keeps its id."""
    return job_id.replace("[]", f"[{index}]", 1) if "[]" in job_id else job_id


class _PBSWorker(ArrayMember):
    label = "PBS worker"


class PBSWorkerArray(BatchWorkerArray):
    """``numworker`` workers as one PBS array job.

    ``options`` are extra qsub options (a shell string, e.g. ``"-V"``), after netpool's own;
    the keyword arguments are :class:`~netpool.launchers.jobs.JobSettings` (``walltime=``,
    ``memory=``, ``cores=``, ``queue=``, ``account=``, ``job_name=``, ``log=``,
    ``directives=`` as ``#PBS`` lines, ``prologue=``).
    """

    member_class = _PBSWorker
    array_option = "-J"
    cancel_ignore = ("Unknown Job Id", "Job has finished", "has finished")
    directive_prefix = "#PBS"

    def __init__(self, numworker: int, options: str = "", **settings: Any) -> None:
        super().__init__(numworker, options, **settings)
        self._after_resubmission_init()

    def _after_resubmission_init(self) -> None:
        self.index_expr = PBS_INDEX if self._numworker > 1 else PBS_SINGLE_INDEX

    def submit_argv(self) -> list[str]:
        return pbs_qsub_argv(self._numworker, self._options, self.array_option, self.settings)

    def parse_job_id(self, stdout: str) -> str:
        return parse_pbs_job_id(stdout)

    def member_id(self, job_id: str, index: int) -> str:
        return pbs_member_id(job_id, index)

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["qdel", job_id]
