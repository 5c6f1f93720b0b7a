"""Workers on SLURM: an ``sbatch`` job array, or the tasks of a step inside an allocation.

:class:`SLURMWorkerArray` submits ``sbatch --parsable --job-name=netpool --array=1-N <options>``
with the job script on sbatch's standard input; the script picks the worker for
``$SLURM_ARRAY_TASK_ID``. ``_stop`` runs ``scancel JOBID`` (the whole array).

:class:`SLURMStepWorkerArray` is for a manager that runs inside an allocation (an ``sbatch``
script or ``salloc``): it runs ``srun --ntasks=N <options> /bin/sh -c SCRIPT`` as a child
process, the script picking the worker for ``$SLURM_PROCID`` (0 .. N-1). ``_stop`` terminates
that srun (SIGTERM, which srun forwards to the step, then SIGKILL). If the manager itself runs
under ``srun``, pass ``options='--overlap'`` so the new step may share its resources.

What they assume: the SLURM commands on the PATH of the manager process; a filesystem shared
by the manager and the nodes, at the same paths, for the authkey file (KEY_FILE delivery), the
output files and the working directory; the interpreter command valid on the nodes (sbatch
and srun export the manager's environment by default, PATH included). SLURM writes its own
``slurm-JOB_TASK.out`` files only if the script itself fails (e.g. an unreachable directory).

Pitfall (seen with SLURM 22.05, ``ProctrackType=proctrack/linuxproc``): a process whose
executable's *file name* contains a space (its ``/proc/PID/comm``, e.g. a script named
``my python``) is not found by slurmstepd's process-tree walk, so ``scancel`` does not kill
it and the node is drained ("Kill task failed"). Spaces in folder names are fine.

Errors: :class:`~netpool.errors.LauncherError` when a command is missing ("must be on the PATH
of the manager process"), fails or prints no job id, and when ``numworker`` is None outside an
allocation ($SLURM_NTASKS unset).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from typing import Optional, Sequence

from ..errors import LauncherError
from .base import KEY_FILE, ChildProcess, Worker, WorkerArray, WorkerCommand, popen_to_output
from .batch import ArrayMember, BatchWorkerArray, job_script
from .jobs import JobSettings


# --- pure builders ---------------------------------------------------------------------------

def slurm_sbatch_argv(numworker: int, options: str = "",
                      settings: JobSettings = JobSettings()) -> list[str]:
    """``sbatch --parsable --job-name=NAME --array=1-N <settings> <options>`` (script on
    stdin). Pure."""
    return ["sbatch", "--parsable", f"--job-name={settings.name}",
            f"--array=1-{int(numworker)}", *slurm_settings_argv(settings), *shlex.split(options)]


def slurm_settings_argv(settings: JobSettings) -> list[str]:
    """sbatch/srun options for ``settings`` (not the job name). Pure.

    The walltime is rounded up to whole minutes (``--time`` in ``D-HH:MM:SS`` form would keep
    seconds, but a minute is SLURM's scheduling grain); memory is ``--mem`` (per node, which is
    per worker: each array task is one worker).
    """
    out = []
    if settings.seconds is not None:
        minutes = -(-settings.seconds // 60)
        out.append(f"--time={minutes}")
    if settings.mb is not None:
        out.append(f"--mem={settings.mb}M")
    if settings.cores is not None:
        out.append(f"--cpus-per-task={settings.cores}")
    if settings.queue is not None:
        out.append(f"--partition={settings.queue}")
    if settings.account is not None:
        out.append(f"--account={settings.account}")
    if settings.log is not None:
        out.append(f"--output={settings.log}")
    return out


def parse_sbatch_job_id(stdout: str) -> str:
    """``sbatch --parsable`` prints ``JOBID`` or ``JOBID;CLUSTER``; the JOBID."""
    for line in stdout.splitlines():
        match = re.match(r"\s*(\d+)(?:;\S*)?\s*$", line)
        if match:
            return match.group(1)
    raise LauncherError(f"sbatch printed no job id: {stdout.strip() or '(no output)'}")


def slurm_srun_argv(commands: Sequence[WorkerCommand], options: str = "",
                    cwd: Optional[str] = None) -> list[str]:
    """``srun --ntasks=N --job-name=netpool <options> /bin/sh -c SCRIPT``; task SLURM_PROCID
    (0-based) runs ``commands[SLURM_PROCID]``. The script is one argv word. Pure."""
    script = job_script("$SLURM_PROCID", commands, first=0, cwd=cwd, title="netpool step")
    return ["srun", f"--ntasks={len(commands)}", "--job-name=netpool", *shlex.split(options),
            "/bin/sh", "-c", script]


# --- sbatch job arrays -------------------------------------------------------------------------

class _SLURMWorker(ArrayMember):
    label = "SLURM worker"


class SLURMWorkerArray(BatchWorkerArray):
    """``numworker`` workers as one SLURM job array.

    ``options`` are extra sbatch options (a shell string, e.g. ``"--qos=long"``), after
    netpool's own; the keyword arguments are :class:`~netpool.launchers.jobs.JobSettings`
    (``walltime=``, ``memory=``, ``cores=``, ``queue=`` for the partition, ``account=``,
    ``job_name=``, ``log=``, ``directives=`` as ``#SBATCH`` lines, ``prologue=``).
    """

    member_class = _SLURMWorker
    index_expr = "$SLURM_ARRAY_TASK_ID"
    cancel_ignore = ("Invalid job id",)
    directive_prefix = "#SBATCH"

    def submit_argv(self) -> list[str]:
        return slurm_sbatch_argv(self._numworker, self._options, self.settings)

    def parse_job_id(self, stdout: str) -> str:
        return parse_sbatch_job_id(stdout)

    def member_id(self, job_id: str, index: int) -> str:
        return f"{job_id}_{index}"

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["scancel", job_id]


# --- a step inside the current allocation ------------------------------------------------------

class _SLURMStepWorker(Worker):
    """Task ``index`` (SLURM_PROCID) of the step; its array starts and stops the step."""

    key_delivery = KEY_FILE

    def __init__(self, index: int) -> None:
        self.index = index

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        self.output = command.output

    def __repr__(self) -> str:
        job = os.environ.get("SLURM_JOB_ID")
        return f"<SLURM step worker, task {self.index}{f' of job {job}' if job else ''}>"


class SLURMStepWorkerArray(ChildProcess, WorkerArray):  # the child is srun: the whole step
    """``numworker`` tasks of one ``srun`` step in the current allocation (None: all of
    ``$SLURM_NTASKS``); ``options`` are extra srun options. See the module doc."""

    key_delivery = KEY_FILE

    def __init__(self, numworker: Optional[int] = None, options: str = "") -> None:
        if numworker is not None and int(numworker) < 1:
            raise ValueError(f"numworker must be at least 1, got {numworker!r}")
        self._numworker = numworker
        self._options = options
        self._workers: Optional[list[Worker]] = None
        self._proc: Optional[subprocess.Popen] = None

    def _get_workers(self) -> list[Worker]:
        if self._workers is None:
            n = self._numworker
            if n is None:
                ntasks = os.environ.get("SLURM_NTASKS") or os.environ.get("SLURM_NPROCS")
                if not ntasks or not ntasks.isdigit():
                    raise LauncherError(
                        "SLURMStepWorkerArray() without numworker needs $SLURM_NTASKS: run the "
                        "manager inside a SLURM allocation (sbatch --ntasks=N, salloc -n N)")
                n = int(ntasks)
            self._workers = [_SLURMStepWorker(i) for i in range(int(n))]
        return list(self._workers)

    def _start(self, commands: Sequence[WorkerCommand], authkey: bytes) -> None:
        workers = self._get_workers()
        if len(commands) != len(workers):
            raise ValueError(f"SLURMStepWorkerArray has {len(workers)} workers, "
                             f"got {len(commands)} commands")
        for worker, command in zip(workers, commands):
            worker.output = command.output
            command.argv(KEY_FILE)  # fail here, not in the step, without a key file
        # srun's own messages (e.g. "Unable to create step") go to the manager's stderr
        self._proc = popen_to_output(slurm_srun_argv(commands, self._options, os.getcwd()), None)

    def _stop(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()  # srun forwards SIGTERM to every task and ends the step
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
