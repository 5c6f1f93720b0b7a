"""The task-farm API of IMP.parallel: ``Manager``, ``Context``, and the old "slave" names.

Kept call-compatible with IMP.parallel (see docs/imp-parallel.md), with its flaws fixed: a
worker serves any number of contexts; a task that raises is reported once and not rerun; a
worker killed mid-task has its tasks rerun elsewhere, each result yielded once; a task that
keeps killing workers fails with ``PoisonTaskError``; a manager with no usable worker says so
at once; a worker that cannot start shows its output file's last lines.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
import weakref
from collections import deque
from typing import Any, Callable, Iterator, Optional

from . import errors
from ._core.scheduler import Config
from ._protocol import codec
from ._protocol import messages as M
from ._runtime import failures, forks, reporting
from ._runtime import progress as progress_line
from ._runtime.journaled import open_journal
from ._runtime.forking import forked_worker
from ._runtime.loop import Runtime
from ._runtime.stats import empty_snapshot
from ._runtime.tasks import Task
from .launchers.base import Worker, WorkerArray, split_python
from .launchers.local import LocalWorker, default_host
from .launchers.sge import SGEPEWorkerArray, SGEQsubWorkerArray


class Manager:
    """Manages workers and contexts.

    ``python`` is the command (one or more words) that starts a Python able to import
    netpool on the workers, ``sys.executable`` by default. ``host`` is the address workers
    connect back to, and the one the manager listens on: loopback when all workers are local,
    else this machine's address. ``output`` names each worker's output file (``% index``).
    ``journal`` names a file that keeps every finished task's outcome, so that a rerun of the
    same program gets those from it instead of running them again (docs/journal.md); a task
    is identified by its callable, its context's startup and what they hold.

    ``connect_timeout`` (seconds a started worker may take to connect) and
    ``heartbeat_timeout`` (seconds of silence after which a worker is declared dead and its
    tasks rerun) may be set on the class or the instance, fractions allowed, before the first
    results are requested. So may ``task_timeout`` (None: no limit): a task running longer
    has its worker killed by the worker's supervisor, as a worker death (the task is rerun
    elsewhere, up to three times); the errors that follow say it ran past ``task_timeout``.

    ``report`` names an HTML file written when the manager is closed (or at interpreter
    exit); ``dashboard=True`` serves the same page live on 127.0.0.1 at ``dashboard_url``
    (printed on stderr). See docs/observability.md.
    ``progress=True`` shows a live progress line on stderr while tasks run (None, the
    default: off, except under ``netpool run`` with stderr on a terminal).
    ``forward_output=True`` also shows on this process's stdout and stderr what tasks print
    on the workers (each line prefixed with its worker), which otherwise is only in the
    ``output`` files, as IMP.parallel had it; hence off by default.
    """

    connect_timeout: float = 7200.0
    heartbeat_timeout: float = 60.0
    task_timeout: Optional[float] = None

    def __init__(self, python: Optional[str] = None, host: Optional[str] = None,
                 output: str = "worker%d.output", journal: Optional[str] = None,
                 report: Optional[str] = None, dashboard: bool = False,
                 progress: progress_line.Mode = None, forward_output: bool = False) -> None:
        progress_line.wanted(progress, sys.stderr)  # a bad value fails now
        self._progress_mode, self._forward = progress, bool(forward_output)
        self._journal = open_journal(journal)  # raises JournalError now, before any task
        self._reporting = reporting.start("Manager", report, dashboard)
        self._python = split_python(python, sys.executable)
        self._fork = python is None and hasattr(os, "fork")  # local workers are forked
        self.host = host
        self.output = output
        self._waiting: list = []   # added workers, started at the next request for results
        self._runtime: Optional[Runtime] = None
        self._lock = threading.Lock()
        self._adapt: Any = None          # adapt(): the policy, and the kinds it launches
        self._templates: list = []
        self._pid = forks.pid  # the process it belongs to (forks.py)

    def add_worker(self, worker: Worker | WorkerArray) -> None:
        """Add a worker (or an array of them); it is started when results are next requested."""
        forks.check(self._pid, "Manager")
        if not isinstance(worker, (Worker, WorkerArray)):
            raise TypeError(f"add_worker needs a Worker or WorkerArray, not {type(worker).__name__}")
        with self._lock:
            self._waiting.append(worker)

    def add_slave(self, slave: Worker | WorkerArray) -> None:
        """Deprecated name of :meth:`add_worker`."""
        warnings.warn("Manager.add_slave is deprecated; use add_worker", DeprecationWarning,
                      stacklevel=2)
        self.add_worker(slave)

    def get_context(self, startup: Optional[Callable[[], Any]] = None) -> "Context":
        """A new context whose tasks run after ``startup()`` on each worker."""
        forks.check(self._pid, "Manager")
        return Context(self, startup)

    @property
    def address(self) -> Optional[tuple[str, int]]:
        """(host, port) the manager listens on, once started."""
        return self._runtime.address if self._runtime else None

    @property
    def addresses(self) -> list[str]:
        """Every address workers are told to try, best first, once started."""
        return list(self._runtime.addresses) if self._runtime else []

    def worker_command(self) -> str:
        """The shell command that joins one more worker to this manager (starts it if needed)."""
        return self._start().worker_command()

    def status_command(self) -> str:
        """The shell command that shows this manager live from another terminal (``netpool
        status HOST:PORT --authkey-file PATH``); starts the manager if needed."""
        return self._start().status_command()

    @property
    def dashboard_url(self) -> Optional[str]:
        """The live dashboard's address, token included, with ``dashboard=True``; else None."""
        return reporting.dashboard_url(self._reporting)

    def stats(self) -> dict:
        """A snapshot of the manager now, as plain values (JSON-serialisable): every worker
        (id, host, pid, launcher, state, tasks done and failed, tasks on it, how long its
        running task has run, seconds since it was last heard from), the totals, failures by
        cause (exception type, worker deaths by how they ended, poison tasks) and queue
        lengths; all zero and no workers before the manager has started. Every field:
        docs/observability.md. O(workers), no I/O; any thread.

        Raises ``ForkedPoolError`` in a child forked from the manager's process.
        """
        forks.check(self._pid, "Manager")
        runtime = self._runtime
        return runtime.stats() if runtime is not None else empty_snapshot()

    def close(self) -> None:
        """Stop every worker now (cancelling batch jobs). The manager cannot be used after.

        Raises ``ForkedPoolError`` in a child forked from the manager's process.
        """
        forks.check(self._pid, "Manager")
        if self._runtime is not None:
            self._runtime.terminate(wait=10.0, why="the Manager was closed")
        elif self._journal is not None:
            self._journal.close()
        if self._reporting is not None:
            self._reporting.finish()

    def __enter__(self) -> "Manager":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pid == forks.pid:  # a forked child leaving the block leaves ours alone
            self.close()

    # -- internal ----------------------------------------------------------------------
    def adapt(self, minimum: int = 0, maximum: int = 1, idle_after: float = 30.0) -> None:
        """Make the manager adaptive, as :meth:`netpool.DistributedPool.adapt`: the workers
        added (before or after) are then the kinds of worker to launch, between ``minimum``
        and ``maximum`` of them as the tasks require, and lost ones are replaced. Call it
        before the first results are requested.

        Raises ``ValueError`` for bad bounds, or (when results are next requested) for a
        worker kind that cannot be launched again (an SGE parallel environment).
        """
        from ._core.adapt import Adaptive

        with self._lock:
            if self._runtime is not None:
                raise errors.Error("adapt() must be called before results are requested")
            self._adapt = Adaptive(minimum, maximum, idle_after)

    def _start(self) -> Runtime:
        """Start the runtime if needed and launch the workers added since last time."""
        forks.check(self._pid, "Manager")
        with self._lock:
            waiting, self._waiting = self._waiting, []
            if self._runtime is None:
                # Single workers first, then arrays: IMP.parallel's numbering of output files.
                waiting.sort(key=lambda w: isinstance(w, WorkerArray))
                if self._adapt is not None:
                    stuck = [w for w in waiting if not _can_grow(w)]
                    if stuck:
                        raise ValueError(f"adapt cannot launch more workers like {stuck}")
                tt = self.task_timeout
                cfg = Config(window=1, heartbeat_timeout=float(self.heartbeat_timeout),
                             connect_timeout=float(self.connect_timeout),
                             replace=self._adapt is not None,
                             task_timeout=None if tt is None else float(tt))
                host, addresses = default_host(waiting, self.host)
                self._runtime = Runtime(host=host, addresses=addresses, python=self._python,
                                        config=cfg, output=self.output,
                                        journal=self._journal,
                                        fork=forked_worker(None) if self._fork else None)
                if self._reporting is not None:
                    self._reporting.attach(self._runtime)
                rt = self._runtime
                rt.forward_output = self._forward
                self._progress = progress_line.start(rt, self._progress_mode)
            else:
                self._runtime.configure(self.heartbeat_timeout, self.connect_timeout)
            rt = self._runtime
        if not rt.alive:
            if rt.failure is not None:
                raise failures.error(rt.failure)
            raise errors.Error("this Manager has been closed")
        if self._adapt is not None:
            if waiting:
                self._templates += waiting
                rt.adapt(self._adapt, self._templates)
            return rt
        for w in waiting:
            rt.launch(w)
        return rt


def _can_grow(w: Any) -> bool:
    return w._can_replace() if isinstance(w, WorkerArray) else w._replacement() is not None


class Context:
    """A collection of tasks that run in the same environment (the result of ``startup``)."""

    def __init__(self, manager: Manager, startup: Optional[Callable[[], Any]] = None) -> None:
        self._manager = manager
        self._startup = startup
        self._blob: Optional[int] = None
        self._unsent: deque = deque()        # tasks added, not yet handed to the runtime
        self._running: dict[int, Any] = {}   # task id -> task callable
        self._ready: deque = deque()         # (ok, value) to yield, in completion order
        self._cond = threading.Condition()

    def add_task(self, task: Callable[..., Any]) -> None:
        """Add a task: any callable cloudpickle can carry, called as ``task(*startup())``."""
        forks.check(self._manager._pid, "Manager")
        if not callable(task):
            raise TypeError(f"a task must be callable, not {type(task).__name__}")
        with self._cond:
            self._unsent.append(task)

    def get_results_unordered(self) -> Iterator[Any]:
        """Run the tasks; yield their return values as they complete.

        Tasks added while iterating are picked up. Breaking out early loses nothing: the next
        call yields what is still due. Raises ``RemoteError`` (a task or the startup raised;
        that task is done), ``PoisonTaskError`` (a task kept killing workers),
        ``NoMoreWorkersError`` (no worker left; unfinished tasks are kept for the next call),
        ``WorkerStartError``, a ``NetworkError`` (no worker ever connected).
        """
        rt = self._manager._start()
        while True:
            self._submit(rt)
            with self._cond:
                while not self._ready and self._running and rt.alive:
                    self._cond.wait(1.0)
                if self._ready:
                    ok, value = self._ready.popleft()
                elif self._running:
                    raise errors.NetworkError("the manager stopped while tasks were running")
                elif not self._unsent:
                    return
                else:
                    continue
            if not ok:
                raise value
            yield value

    # -- plumbing ----------------------------------------------------------------------
    def _submit(self, rt: Runtime) -> None:
        with self._cond:
            if not self._unsent:
                return
            todo, self._unsent = list(self._unsent), deque()
        if self._blob is None:
            self._blob = rt.define(self._startup) if self._startup is not None else 0
            weakref.finalize(self, rt.release, self._blob)  # held while the Context lives
        ids = rt.task_ids(len(todo))
        tasks = []
        for n, (tid, fn) in enumerate(zip(ids, todo)):
            try:
                data = codec.dumps_callable(fn)
            except Exception:
                with self._cond:  # nothing lost: the rest stay queued for the next call
                    self._unsent.extendleft(reversed(todo[n + 1:]))
                rt.submit(tasks)
                raise
            tasks.append(Task(tid, M.CONTEXT, self._blob, data, [], self, ident=fn))
            with self._cond:
                self._running[tid] = fn
        rt.submit(tasks)

    def _deliver(self, tid: int, status: int, payload: bytes, bufs: list, worker: str) -> None:
        """Loop thread: a result arrived. Whatever it holds, the task yields something."""
        try:
            item = _decode(status, payload, bufs, worker)
        except Exception as exc:  # a payload we cannot read at all: still the task's outcome
            item = (False, errors.RemoteError(
                errors.Error(f"the result could not be decoded: {exc!r}"), [], worker))
        with self._cond:
            self._running.pop(tid, None)
            self._ready.append(item)
            self._cond.notify_all()

    def _fail(self, tid: int, exc: BaseException) -> None:
        """Loop thread: the task cannot complete (no workers, poison, terminated)."""
        with self._cond:
            fn = self._running.pop(tid, None)
            if isinstance(exc, errors.NoMoreWorkersError) or isinstance(exc, errors.NetworkError):
                if fn is not None:
                    self._unsent.append(fn)  # kept, as in IMP.parallel, for a later call
                if any(e is exc for ok, e in self._ready):
                    return  # one report for all the tasks that failed together
            self._ready.append((False, exc))
            self._cond.notify_all()


def _decode(status: int, payload: bytes, bufs: list, worker: str) -> tuple[bool, Any]:
    if status == M.OK:
        try:
            return True, codec.loads(payload, bufs)
        except Exception as exc:
            return False, errors.RemoteError(
                exc, [f"result could not be unpickled: {exc!r}\n"], worker)
    if status == M.RAISED:
        exc, rebuild_error, _tb, text, name, _why = codec.loads_raised(payload)
        if rebuild_error is not None:  # a required constructor argument, a module it lacks
            exc = errors.Error(f"raised on the worker, it cannot be rebuilt here: "
                               f"{type(rebuild_error).__name__}: {rebuild_error}")
        elif exc is None:
            exc = errors.Error("raised on the worker, it could not be pickled there")
        return False, errors.RemoteError(exc, text, worker, name)
    err, value = codec.loads(payload)
    return False, errors.RemoteError(
        errors.Error(f"the result {value} could not be pickled: {err}"), [], worker)


# -- deprecated names of IMP.parallel before 2.14 ---------------------------------------------

def _deprecated(cls: type, old: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        warnings.warn(f"{old} is deprecated; use {cls.__name__}", DeprecationWarning, stacklevel=2)
        cls.__init__(self, *args, **kwargs)
    return type(old, (cls,), {"__init__": __init__, "__doc__": f"Deprecated name of {cls.__name__}."})


Slave = _deprecated(Worker, "Slave")
SlaveArray = _deprecated(WorkerArray, "SlaveArray")
LocalSlave = _deprecated(LocalWorker, "LocalSlave")
SGEQsubSlaveArray = _deprecated(SGEQsubWorkerArray, "SGEQsubSlaveArray")
SGEPESlaveArray = _deprecated(SGEPEWorkerArray, "SGEPESlaveArray")


def __getattr__(name: str) -> object:
    if name == "NoMoreSlavesError":  # the same class as NoMoreWorkersError; warns on use
        warnings.warn("NoMoreSlavesError is deprecated; use NoMoreWorkersError (the same class)",
                      DeprecationWarning, stacklevel=2)
        return errors.NoMoreWorkersError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
