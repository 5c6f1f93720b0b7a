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

from ..errors import LauncherError
from .base import ArrayMember, BatchWorkerArray

PBS_INDEX = "${PBS_ARRAY_INDEX:-$PBS_ARRAYID}"
PBS_SINGLE_INDEX = "${PBS_ARRAY_INDEX:-${PBS_ARRAYID:-1}}"  # no array: worker 1


def pbs_qsub_argv(numworker: int, options: str = "", array_option: str = "-J") -> list[str]:
    """``qsub -N netpool -j oe [-J 1-N] <options>``; no array option for one worker. Pure."""
    argv = ["qsub", "-N", "netpool", "-j", "oe"]
    if int(numworker) > 1:
        argv += [array_option, f"1-{int(numworker)}"]
    return argv + shlex.split(options)


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
    """``numworker`` workers as one PBS array job; ``options`` are extra qsub options (a shell
    string, e.g. ``"-q workq -l walltime=1:00:00 -V"``), after netpool's own."""

    member_class = _PBSWorker
    array_option = "-J"
    cancel_ignore = ("Unknown Job Id", "Job has finished", "has finished")

    def __init__(self, numworker: int, options: str = "") -> None:
        super().__init__(numworker)
        self._options = options
        self.index_expr = PBS_INDEX if self._numworker > 1 else PBS_SINGLE_INDEX

    def submit_argv(self) -> list[str]:
        return pbs_qsub_argv(self._numworker, self._options, self.array_option)

    def parse_job_id(self, stdout: str) -> str:
        return parse_pbs_job_id(stdout)

    def member_id(self, job_id: str, index: int) -> str:
        return pbs_member_id(job_id, index)

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["qdel", job_id]
