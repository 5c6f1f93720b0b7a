"""Batch job arrays: one submit command starts many workers, one cancel command stops them.

:func:`job_script` writes the POSIX ``/bin/sh`` script that picks each array task's worker;
:class:`BatchWorkerArray` submits it (on the submit command's stdin) and cancels the job;
:class:`ArrayMember` is one task of it, whose replacement is a one-worker job like its array.
The SLURM, Grid Engine, PBS and LSF arrays are subclasses that give the pure pieces.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shlex
from typing import Any, Optional, Sequence

from .base import KEY_FILE, Worker, WorkerArray, WorkerCommand, run_command
from .jobs import SETTING_NAMES, JobSettings


def job_script(index_expr: str, commands: Sequence[WorkerCommand], first: int = 1,
               cwd: Optional[str] = None, title: str = "netpool workers",
               directives: Sequence[str] = (), prologue: Sequence[str] = ()) -> str:
    """A POSIX ``/bin/sh`` job script that starts the worker selected by an index variable.

    ``index_expr`` is a fixed shell expansion (``$SGE_TASK_ID``, never user data); task
    ``first + i`` runs ``commands[i]`` with the KEY_FILE delivery, output to its file. A
    ``case`` statement does the mapping, since dash has no arrays. Every word that comes
    from a command, a path or ``cwd`` is quoted with :func:`shlex.quote`. ``directives`` are
    complete scheduler header lines (``#SBATCH --mem=4096M``), placed right after the first
    line, where schedulers look for them; ``prologue`` lines run (verbatim: the user's own
    shell) after the ``cd`` and before the worker. Pure.
    """
    lines = ["#!/bin/sh", *directives,
             f"# {title}: {len(commands)} worker(s), chosen by {index_expr}",
             "# written by netpool; runs under any POSIX sh (no arrays)"]
    if cwd is not None:
        lines.append(f"cd {shlex.quote(cwd)} || exit 1")
    lines += prologue
    lines.append(f'case "{index_expr}" in')
    for i, command in enumerate(commands):
        redirect = f" >{shlex.quote(command.output)} 2>&1" if command.output else ""
        lines.append(f"  {first + i}) exec {command.shell(KEY_FILE)}{redirect} ;;")
    lines.append(f"  *) echo \"netpool: no worker for index '{index_expr}'\" >&2; exit 2 ;;")
    lines.append("esac")
    return "\n".join(lines) + "\n"


class ArrayMember(Worker):
    """One task of a batch job array; its array submits and cancels it.

    ``_start`` only records the output file (the array's ``_start`` submits the job) and
    ``_stop`` does nothing (the array's ``_stop`` cancels the whole job). The exit status
    is unknown to the manager (``None``): a lost worker shows up as a lost connection.
    """

    key_delivery = KEY_FILE
    label = "batch worker"
    relays_output = False  # it writes to the job's output file

    def __init__(self, index: int, array: "Optional[BatchWorkerArray]" = None) -> None:
        self.index = index
        self.array = array
        self.job_id: Optional[str] = None  # the scheduler's id of this task, once submitted

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        self.output = command.output

    def _replacement(self) -> "Optional[BatchWorkerArray]":
        """A new one-worker job like its array (same class, options and settings)."""
        return self.array._resubmission() if self.array is not None else None

    def __repr__(self) -> str:
        return f"<{self.label}, ID {self.job_id or '(unknown)'}>"


class BatchWorkerArray(WorkerArray):
    """A job array submitted with one command and cancelled with another.

    Subclasses give the pure pieces: ``submit_argv()`` (netpool's options, then
    ``settings_argv()`` for the :class:`~netpool.launchers.jobs.JobSettings`, then the
    user's ``options`` string, so the user has the last word), ``directive_prefix``
    (``#SBATCH``), ``index_expr``/``first_index`` for :func:`job_script`,
    ``parse_job_id(stdout)``, ``member_id(job_id, index)`` and ``cancel_argv(job_id)`` with
    ``cancel_ignore`` (messages meaning "already gone"). The job script goes on the submit
    command's stdin.

    Assumes a filesystem shared by the manager and the nodes, at the same paths: the key
    file, the output files and the manager's working directory (the script ``cd``s there).
    Raises :class:`LauncherError` when a command is missing, fails or prints no job id.
    """

    member_class = ArrayMember
    index_expr = "$TASK_ID"
    first_index = 1
    cancel_ignore: tuple[str, ...] = ()
    directive_prefix = "#"

    def __init__(self, numworker: int, options: str = "", **settings: Any) -> None:
        if int(numworker) < 1:
            raise ValueError(f"numworker must be at least 1, got {numworker!r}")
        unknown = sorted(set(settings) - set(SETTING_NAMES))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unknown job settings {unknown}; "
                            f"known: {', '.join(SETTING_NAMES)}")
        self.settings = JobSettings(**settings)
        self._options = options
        self._numworker = int(numworker)
        self._workers = [self.member_class(i + self.first_index, self)
                         for i in range(self._numworker)]
        self.job_id: Optional[str] = None
        self._cancelled = False

    def _can_replace(self) -> bool:
        return True

    def __repr__(self) -> str:
        job = f", job {self.job_id}" if self.job_id else ""
        return f"<{type(self).__name__} of {self._numworker}{job}>"

    def _resubmission(self, numworker: int = 1) -> "BatchWorkerArray":
        """An unsubmitted array like this one, of ``numworker``: a lost member's replacement
        job (one), or more workers for an adaptive pool.

        A copy, so that settings changed on this instance (``array_option`` for Torque, a
        subclass's ``standard_options``) carry over; then made anew for ``numworker``.
        """
        fresh = copy.copy(self)
        BatchWorkerArray.__init__(fresh, numworker, self._options,
                                  **dataclasses.asdict(self.settings))
        fresh._after_resubmission_init()
        return fresh

    def _after_resubmission_init(self) -> None:
        """Subclasses whose ``__init__`` derives more from the worker count redo it here."""

    def _get_workers(self) -> list[Worker]:
        return list(self._workers)

    def submit_argv(self) -> list[str]:
        raise NotImplementedError

    def parse_job_id(self, stdout: str) -> str:
        raise NotImplementedError

    def member_id(self, job_id: str, index: int) -> str:
        raise NotImplementedError

    def cancel_argv(self, job_id: str) -> list[str]:
        raise NotImplementedError

    def settings_argv(self) -> list[str]:
        """Submit options for :attr:`settings` (pure; each scheduler has its own spelling)."""
        return []

    def job_script(self, commands: Sequence[WorkerCommand], cwd: Optional[str]) -> str:
        directives = [f"{self.directive_prefix} {d}" for d in self.settings.directives]
        prologue = list(self.settings.prologue)
        if self.settings.seconds is not None:  # the job's end, for its worker to drain before
            prologue.insert(0, f"NETPOOL_JOB_END=$(( $(date +%s) + {self.settings.seconds} )); "
                               "export NETPOOL_JOB_END")
        return job_script(self.index_expr, commands, self.first_index, cwd,
                          directives=directives, prologue=prologue)

    def _start(self, commands: list[WorkerCommand], authkey: bytes) -> None:
        if len(commands) != self._numworker:
            raise ValueError(f"{type(self).__name__} has {self._numworker} workers, "
                             f"got {len(commands)} commands")
        script = self.job_script(commands, os.getcwd())
        stdout = run_command(self.submit_argv(), input=script)
        self.job_id = self.parse_job_id(stdout)
        for worker, command in zip(self._workers, commands):
            worker.output = command.output
            worker.job_id = self.member_id(self.job_id, worker.index)

    def _stop(self) -> None:
        if self.job_id is None or self._cancelled:
            return
        self._cancelled = True
        run_command(self.cancel_argv(self.job_id), ignore=self.cancel_ignore)
