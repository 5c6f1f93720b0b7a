"""Workers on Sun/Son of/Univa Grid Engine: a ``qsub`` job array, or the slots of a PE job.

:class:`SGEQsubWorkerArray` submits one array job ``qsub -S /bin/sh <options>
<standard_options> -t 1-N`` with the job script on qsub's standard input; the script picks the
worker for ``$SGE_TASK_ID`` and redirects its output to the worker's file. ``_stop`` runs
``qdel JOBID``.

:class:`SGEPEWorkerArray` is for a manager that itself runs inside a parallel-environment job
(``qsub -pe smp 8 ...``): it reads ``$PE_HOSTFILE``, keeps the first slot for the manager's
host (a :class:`LocalWorker`, since the manager occupies that slot) and starts the others with
``qrsh -inherit -V HOST COMMAND``. The PE needs ``control_slaves TRUE``.

What they assume: the SGE commands (``qsub``, ``qdel``, ``qrsh``) on the PATH of the manager
process; a filesystem shared by the manager and the nodes, at the same paths, for the authkey
file (KEY_FILE delivery), the output files and the working directory; the interpreter command
valid on the nodes. Job environments are not exported unless ``options`` says ``-V`` (a job's
PATH is then SGE's own): an absolute interpreter path is safest.

Errors: :class:`~netpool.errors.LauncherError` when a command is missing ("must be on the PATH
of the manager process"), fails, or prints no job id, and when ``$PE_HOSTFILE`` is unset or
unreadable.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from typing import Optional, Sequence

from ..errors import LauncherError
from .base import KEY_FILE, ProcessWorker, Worker, WorkerArray, WorkerCommand, popen_to_output
from .batch import ArrayMember, BatchWorkerArray
from .jobs import JobSettings, hms
from .local import LocalWorker


# --- pure builders ---------------------------------------------------------------------------

def sge_qsub_argv(numworker: int, options: str, standard_options: str,
                  settings: JobSettings = JobSettings(), pe: str = "smp") -> list[str]:
    """``qsub -S /bin/sh <options> <standard_options> <settings> -t 1-N`` (the script comes
    on stdin). The settings come after the standard options, since qsub takes the last of a
    repeated option (``-o``). Pure."""
    return ["qsub", "-S", "/bin/sh", *shlex.split(options), *shlex.split(standard_options),
            *sge_settings_argv(settings, pe), "-t", f"1-{int(numworker)}"]


def sge_settings_argv(settings: JobSettings, pe: str = "smp") -> list[str]:
    """qsub options for ``settings``. Pure.

    Memory is ``h_vmem`` (per slot, the limit most sites enforce); cores ask for ``-pe PE N``
    (the parallel environment ``pe``, ``smp`` unless the array's ``pe`` says otherwise).
    """
    out = []
    if settings.job_name is not None:
        out += ["-N", settings.job_name]
    if settings.seconds is not None:
        out += ["-l", f"h_rt={hms(settings.seconds)}"]
    if settings.mb is not None:
        out += ["-l", f"h_vmem={settings.mb}M"]
    if settings.cores is not None:
        out += ["-pe", pe, str(settings.cores)]
    if settings.queue is not None:
        out += ["-q", settings.queue]
    if settings.account is not None:
        out += ["-A", settings.account]
    if settings.log is not None:
        out += ["-o", settings.log]
    return out


def parse_sge_job_id(stdout: str) -> str:
    """The job id from qsub's output, normal or ``-terse``.

    ``Your job-array 12.1-3:1 ("STDIN") has been submitted`` -> ``12``; ``12.1-3:1`` -> ``12``;
    ``Your job 12 ("x") has been submitted`` -> ``12``. Raises LauncherError otherwise.
    """
    for line in stdout.splitlines():
        match = (re.match(r"\s*Your job(?:-array)? (\d+)", line)
                 or re.match(r"\s*(\d+)(?:\.\S*)?\s*$", line))
        if match:
            return match.group(1)
    match = re.search(r"\d+", stdout)  # the original's rule: the first integer
    if match:
        return match.group(0)
    raise LauncherError(f"qsub printed no job id: {stdout.strip() or '(no output)'}")


def sge_qrsh_argv(host: str, command: WorkerCommand) -> list[str]:
    """``qrsh -inherit -V HOST WORDS...``: qrsh joins the words and a shell on ``host`` runs
    them, so each word is quoted (the worker reads the key from its KEY_FILE)."""
    return ["qrsh", "-inherit", "-V", host, *(shlex.quote(a) for a in command.argv(KEY_FILE))]


def parse_pe_hostfile(text: str) -> list[str]:
    """One host name per slot, from a ``$PE_HOSTFILE``: lines of ``node count rest``."""
    hosts: list[str] = []
    for line in text.splitlines():
        fields = line.split(None, 2)
        if not fields:
            continue
        if len(fields) < 2 or not fields[1].isdigit():
            raise LauncherError(f"PE_HOSTFILE line is not 'host slots queue ...': {line!r}")
        hosts += [fields[0]] * int(fields[1])
    return hosts


# --- qsub job arrays ---------------------------------------------------------------------------

class _SGEQsubWorker(ArrayMember):
    label = "SGE qsub worker"


class SGEQsubWorkerArray(BatchWorkerArray):
    """``numworker`` workers as one SGE array job.

    ``options`` are extra qsub options (a shell string, e.g. ``"-V -l gpu=1"``), placed before
    :attr:`standard_options`; the keyword arguments are
    :class:`~netpool.launchers.jobs.JobSettings` (``walltime=`` as ``h_rt``, ``memory=`` as
    ``h_vmem``, ``cores=`` through the parallel environment :attr:`pe`, ``queue=``,
    ``account=``, ``job_name=``, ``log=``, ``directives=`` as ``#$`` lines, ``prologue=``).
    """

    standard_options = '-j y -cwd -r n -o sge-errors'
    pe = "smp"
    member_class = _SGEQsubWorker
    index_expr = "$SGE_TASK_ID"
    cancel_ignore = ("does not exist",)
    directive_prefix = "#$"

    def submit_argv(self) -> list[str]:
        return sge_qsub_argv(self._numworker, self._options, self.standard_options,
                             self.settings, self.pe)

    def parse_job_id(self, stdout: str) -> str:
        return parse_sge_job_id(stdout)

    def member_id(self, job_id: str, index: int) -> str:
        return f"{job_id}.{index}"

    def cancel_argv(self, job_id: str) -> list[str]:
        return ["qdel", job_id]


# --- parallel environment ----------------------------------------------------------------------

class _SGEPEWorker(ProcessWorker):
    """One slot of the manager's PE job on ``host``, started with ``qrsh -inherit``.

    Its output goes to the worker's file on the manager's side (qrsh relays it). ``_stop``
    kills the qrsh client; the worker also ends when the manager's connection closes.
    """

    key_delivery = KEY_FILE

    def __init__(self, host: str) -> None:
        self._host = host
        self._proc: Optional[subprocess.Popen] = None

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        if self._proc is not None:
            return  # already started (by the array or the manager)
        self.output = command.output
        self._proc = popen_to_output(sge_qrsh_argv(self._host, command), command.output)

    def __repr__(self) -> str:
        return f"<SGE PE worker on {self._host}>"


class SGEPEWorkerArray(WorkerArray):
    """All the slots of the PE job the manager runs in, one worker each (see the module doc).

    ``_get_workers`` reads ``$PE_HOSTFILE``: the first slot is a :class:`LocalWorker` on the
    manager's host, the others ``_SGEPEWorker`` objects. Raises LauncherError without one.
    """

    key_delivery = KEY_FILE

    def __init__(self) -> None:
        self._workers: Optional[list[Worker]] = None

    def _get_workers(self) -> list[Worker]:
        if self._workers is None:
            path = os.environ.get("PE_HOSTFILE")
            if not path:
                raise LauncherError(
                    "SGEPEWorkerArray needs $PE_HOSTFILE: run the manager inside an SGE "
                    "parallel environment job (qsub -pe NAME SLOTS ...)")
            try:
                with open(path) as f:
                    hosts = parse_pe_hostfile(f.read())
            except OSError as exc:
                raise LauncherError(f"cannot read PE_HOSTFILE {path!r}: {exc}") from None
            if not hosts:
                raise LauncherError(f"PE_HOSTFILE {path!r} lists no slots")
            self._workers = [LocalWorker()] + [_SGEPEWorker(h) for h in hosts[1:]]
        return list(self._workers)

    def _start(self, commands: Sequence[WorkerCommand], authkey: bytes) -> None:
        workers = self._get_workers()
        if len(commands) != len(workers):
            raise ValueError(f"SGEPEWorkerArray has {len(workers)} workers, "
                             f"got {len(commands)} commands")
        for worker, command in zip(workers, commands):
            worker._start(command, authkey)
