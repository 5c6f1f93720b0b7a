"""Every exception netpool raises of its own, and nothing else.

Two families share one root, :class:`Error`:

* the task-farm names of IMP.parallel (``Error``, ``RemoteError``, ``NetworkError``,
  ``NoMoreWorkersError``), kept so that code written for it keeps catching what it caught;
* netpool's own failures (``WorkerStartError``, ``PoisonTaskError``, ...), each saying what
  happened and what to do next.

All of them pickle, so they can cross process boundaries inside results.
"""

from __future__ import annotations

from collections.abc import Sequence

import signal


def describe_exit(code: int | None) -> str:
    """'exit code 3', 'killed by SIGKILL', or 'exit status unknown'."""
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code > 128:  # a shell reports death by signal N as 128 + N
        try:
            return f"exit code {code} ({signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return f"exit code {code}"


class Error(Exception):
    """Base class of every netpool error."""


class NetworkError(Error):
    """A network problem: no worker connected in time, or a connection failed."""


class NoMoreWorkersError(Error):
    """Tasks are waiting but no worker is left (none was added, or all died)."""


class RemoteError(Error):
    """A task (or its context's startup) raised on a worker.

    ``exc`` is the original exception, ``traceback`` the remote traceback as a list of
    lines (``traceback.format_exception`` on the worker), ``worker`` the worker it ran on,
    ``type_name`` the remote exception's ``module.qualname``. When the exception cannot be
    rebuilt on the manager (a required constructor argument, a module only the worker has),
    ``exc`` is a netpool ``Error`` saying so, and ``type_name`` and ``traceback`` still tell
    what was raised and where.
    """

    def __init__(self, exc: BaseException, traceback: Sequence[str], worker: object,
                 type_name: str | None = None) -> None:
        if type_name is None:
            type_name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        super().__init__(exc, list(traceback), worker, type_name)
        self.exc = exc
        self.traceback = list(traceback)
        self.worker = worker
        self.type_name = type_name

    def __str__(self) -> str:
        what = type(self.exc).__name__
        if what != self.type_name.rpartition(".")[2]:
            what = self.type_name
        return (f"{what}: {self.exc} from {self.worker}\n"
                f"Remote traceback:\n{''.join(self.traceback)}")


class WorkerStartError(NetworkError):
    """A worker could not start or never connected back to the manager."""


class PoisonTaskError(Error):
    """A task was running on a worker each time one died, too many times: it is not retried."""

    def __init__(self, message: str, task: object = None, deaths: Sequence[str] = ()) -> None:
        super().__init__(message, task, list(deaths))
        self.task = task
        self.deaths = list(deaths)

    def __str__(self) -> str:
        return str(self.args[0])


class LauncherError(Error):
    """A launcher could not start or stop workers (e.g. ``sbatch`` failed or is missing)."""


class ProtocolError(Error):
    """A peer sent something that is not netpool's protocol, or of another version."""


class ForkedPoolError(Error):
    """A pool or manager was used in a child process forked from the one that made it.

    It belongs to its parent (whose links and task table it shares): create a new one in the
    child. Nothing is sent when this is raised.
    """


class JournalError(Error):
    """A journal cannot be used: not a netpool journal, a newer format, corrupted, or not
    writable. Raised when the pool or manager starts, before any task runs."""


def __getattr__(name: str) -> object:
    """Old names, kept as what they were renamed to, warning on every use (as trio does).

    ``NoMoreSlavesError`` *is* :class:`NoMoreWorkersError` (IMP.parallel before 2.14), so
    ``except NoMoreSlavesError`` catches what netpool raises when workers run out.
    """
    if name == "NoMoreSlavesError":
        import warnings
        warnings.warn("NoMoreSlavesError is deprecated; use NoMoreWorkersError (the same class)",
                      DeprecationWarning, stacklevel=2)
        return NoMoreWorkersError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
