"""``netpool.Executor``: a ``concurrent.futures.Executor`` on netpool's workers.

It is ``ProcessPoolExecutor``'s API on the runtime and launchers of ``DistributedPool``:
the same worker processes (local, SSH, scheduler arrays), the same fault tolerance. What
differs from the stdlib executor, and why: compat/DEVIATIONS.md ("netpool.Executor").

Data flow::

    submit/map ──Task──> Runtime (loop thread) ──TASKS──> workers
    worker result ──> loop thread ──> _TaskFuture._deliver ──> Future.set_result/set_exception
                                                                 └─> done callbacks run here

Threads: a future's done callbacks run on the runtime's loop thread (where results arrive),
or on the thread that calls ``add_done_callback`` / ``cancel`` when the future is already
done or is cancelled there. Keep them short and never wait on the executor in them, as for
the stdlib's callbacks, which run on its management thread.
"""

from __future__ import annotations

import itertools
import pickle
import threading
import time
import weakref
from collections import deque
from concurrent import futures
from concurrent.futures._base import CANCELLED, PENDING, RUNNING
from concurrent.futures.process import _RemoteTraceback
from multiprocessing.pool import RemoteTraceback
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ._protocol import codec
from ._protocol import messages as M
from ._runtime.loop import Task
from ._results import outcome
from .pool import DistributedPool

__all__ = ["Executor"]

_shutting_down = False           # the interpreter is exiting: no new futures
_live: "weakref.WeakSet[Executor]" = weakref.WeakSet()


def _python_exit() -> None:
    # Runs in threading._shutdown, before atexit (where runtimes are terminated): work
    # already submitted finishes, as ProcessPoolExecutor's does at exit.
    global _shutting_down
    _shutting_down = True
    for ex in list(_live):
        ex.shutdown(wait=True)


threading._register_atexit(_python_exit)  # what concurrent.futures itself uses


class _TaskFuture(futures.Future):
    """A ``concurrent.futures.Future`` that is also the runtime's sink for its task.

    ``cancel()`` takes the task back from the runtime while no worker has it; once a worker
    has it, the future is marked running and ``cancel()`` returns False, as the stdlib's.
    """

    def __init__(self, withdraw: Callable[[list], set]) -> None:
        super().__init__()
        self._withdraw = withdraw
        self._tid = -1
        self._withdrawn = False

    def cancel(self) -> bool:
        # Under the future's own lock, so that two cancels (or a cancel and shutdown's)
        # agree: the first takes the task back, the second finds it taken.
        with self._condition:
            if self._state == PENDING and not self._withdrawn:
                if self._tid >= 0 and self._tid not in self._withdraw([self._tid]):
                    self._state = RUNNING  # a worker has it: too late, as in the stdlib
                    return False
                self._withdrawn = True
        if not super().cancel():
            return False
        # What the stdlib's executor does when it reaches a cancelled item: waiters in
        # wait() and as_completed() count only a cancelled future that was "notified".
        with self._condition:
            if self._state == CANCELLED:
                self.set_running_or_notify_cancel()
        return True

    # -- sink protocol, called on the loop thread --------------------------------------
    def _deliver(self, tid: int, status: int, payload: bytes, bufs: list, worker: str) -> None:
        if status == M.UNENCODABLE:  # the stdlib's executor gives the pickling error
            exc_repr, value_repr = codec.loads(payload)
            self._settle(False, pickle.PicklingError(
                f"Error sending result: {value_repr}. Reason: {exc_repr}"))
            return
        success, value = outcome(status, payload, bufs)
        cause = getattr(value, "__cause__", None)
        if not success and isinstance(cause, RemoteTraceback):
            value.__cause__ = _RemoteTraceback(cause.tb)  # the executor's own class
        self._settle(success, value)

    def _fail(self, tid: int, exc: BaseException) -> None:
        self._settle(False, exc)

    def _settle(self, success: bool, value: Any) -> None:
        try:
            if success:
                self.set_result(value)
            else:
                self.set_exception(value)
        except futures.InvalidStateError:
            pass  # cancelled meanwhile: nobody waits for this result


class Executor(futures.Executor):
    """``concurrent.futures.ProcessPoolExecutor``'s API, with netpool's workers.

    ``max_workers`` local workers (``os.cpu_count()`` by default) unless ``workers`` gives
    the launchers (``LocalWorker()``, ``SSHWorker(host)``, ``SLURMWorkerArray(n)``...).
    ``initializer(*initargs)`` runs once in each worker; ``max_tasks_per_child`` recycles a
    worker after that many tasks. ``python``, ``host``, ``authkey``, ``heartbeat_timeout``,
    ``connect_timeout``, ``max_attempts`` and ``window`` mean what they mean for
    ``DistributedPool``, except that ``window`` (tasks sent ahead to one worker) is 2 by
    default, not 32: as with the stdlib's executor, little is committed to workers ahead of
    time, so ``cancel()`` and ``shutdown(cancel_futures=True)`` can take most of a queue
    back. Raise it for many tiny tasks (or use ``map(chunksize=...)``). ``mp_context`` is
    accepted and ignored: workers are always fresh interpreters (as with "spawn").
    ``report``, ``dashboard`` and ``progress`` are the pool's (docs/observability.md): the
    report is written when ``shutdown(wait=True)`` returns, else at interpreter exit.
    ``journal`` names a file that keeps every finished task's outcome, as the pool's does
    (docs/journal.md): run again with the same journal, a task already done is not run
    again; its future gets the recorded result or exception as soon as it is submitted.

    A worker that dies has its tasks rerun on another: the executor never breaks. A task
    that was running each time a worker died, ``max_attempts`` times, fails alone with
    ``netpool.PoisonTaskError``. When no worker is left at all, pending futures fail with
    ``netpool.NoMoreWorkersError`` (or ``WorkerStartError`` if none ever started).

    Raises ``ValueError``/``TypeError`` for bad arguments as the stdlib does, and
    ``WorkerStartError`` when the worker command cannot be run at all, ``JournalError``
    for a journal that cannot be used.
    """

    def __init__(self, max_workers: Optional[int] = None, mp_context: Any = None,
                 initializer: Optional[Callable] = None, initargs: Sequence = (), *,
                 max_tasks_per_child: Optional[int] = None, workers: Optional[Any] = None,
                 python: Optional[str] = None, host: Optional[str] = None,
                 authkey: Optional[bytes] = None, heartbeat_timeout: float = 30.0,
                 connect_timeout: float = 120.0, max_attempts: int = 3,
                 window: int = 2, report: Optional[str] = None, dashboard: bool = False,
                 progress: Any = None, journal: Optional[str] = None) -> None:
        self._shutdown_flag = True  # until the pool exists: __del__ must find it
        if max_workers is not None and max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if max_tasks_per_child is not None:
            if not isinstance(max_tasks_per_child, int):
                raise TypeError("max_tasks_per_child must be an integer")
            if max_tasks_per_child <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
        self._pool = DistributedPool(
            max_workers, initializer, initargs, max_tasks_per_child, workers=workers,
            python=python, host=host, authkey=authkey, heartbeat_timeout=heartbeat_timeout,
            connect_timeout=connect_timeout, max_attempts=max_attempts, window=window,
            report=report, dashboard=dashboard, progress=progress, journal=journal)
        self._rt = self._pool._rt
        self._lock = threading.Lock()
        self._shutdown_flag = False
        self._pending: dict[int, _TaskFuture] = {}  # not yet done, for cancel_futures
        _live.add(self)

    @property
    def dashboard_url(self) -> Optional[str]:
        """The live dashboard's address, token included, with ``dashboard=True``; else None."""
        return self._pool.dashboard_url

    # -- where other workers can join -----------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the executor listens on: ``netpool worker HOST:PORT`` joins it."""
        return self._rt.address

    @property
    def authkey(self) -> bytes:
        return self._rt.authkey

    def worker_command(self) -> str:
        """The shell command that joins one more worker (see ``DistributedPool``)."""
        return self._rt.worker_command()

    # -- the Executor API -----------------------------------------------------------------
    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> futures.Future:
        """Schedule ``fn(*args, **kwargs)``; returns its ``concurrent.futures.Future``.

        Raises ``RuntimeError`` after ``shutdown()`` or once the interpreter is exiting. An
        ``fn`` or argument that cannot be pickled fails this future only, with the pickling
        error. The future's exception is the task's own (a ``RemoteTraceback`` as its
        ``__cause__``), ``PoisonTaskError``, or ``NoMoreWorkersError``.
        """
        return self._submit(M.CALL, fn, lambda: codec.dumps((args, kwargs)))

    def map(self, fn: Callable, *iterables: Iterable, timeout: Optional[float] = None,
            chunksize: int = 1, buffersize: Optional[int] = None) -> Iterator:
        """``map(fn, *iterables)`` on the workers; results in order, as an iterator.

        Every input is read and submitted now, unless ``buffersize`` is given: then only
        that many chunks are submitted ahead of the results handed out, the next one each
        time one is (the stdlib's 3.14 ``buffersize``). ``chunksize`` items travel as one
        task. ``next()`` raises the first failed call's exception, or ``TimeoutError`` when
        ``timeout`` seconds from this call have passed; leaving the iterator early cancels
        what has not started. Raises ``ValueError``/``TypeError`` for a bad ``chunksize``
        or ``buffersize``, ``RuntimeError`` after shutdown.
        """
        if not isinstance(chunksize, int) or chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        if buffersize is not None and not isinstance(buffersize, int):
            raise TypeError("buffersize must be an integer or None")
        if buffersize is not None and buffersize < 1:
            raise ValueError("buffersize must be None or >= 1.")
        end = None if timeout is None else timeout + time.monotonic()
        batches = _batched(zip(*iterables), chunksize)
        if buffersize is not None:
            first = list(itertools.islice(batches, buffersize))
        else:
            first, batches = list(batches), iter(())
        fs = deque(self._submit_batch(fn, b) for b in first)
        return _results(fs, batches, weakref.ref(self), fn, end)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more tasks; workers exit once the submitted ones are done.

        ``cancel_futures`` first cancels every future no worker has started. ``wait``
        blocks until every worker has exited (not when called from a done callback, which
        runs on the loop thread: there it returns at once).
        """
        with self._lock:
            self._shutdown_flag = True
            pending = list(self._pending.values()) if cancel_futures else []
        for f in pending:
            f.cancel()
        self._pool.close()
        if wait and not self._rt.on_loop_thread():
            self._pool.join()

    def __del__(self) -> None:
        # As the stdlib: an executor dropped unshut finishes its work, then its workers exit.
        if not getattr(self, "_shutdown_flag", True):
            self._shutdown_flag = True
            self._pool.close()

    def __repr__(self) -> str:
        state = "shutdown" if self._shutdown_flag else "running"
        return f"<{type(self).__name__} {state} address={self.address}>"

    # -- internals ------------------------------------------------------------------------
    def _submit(self, kind: int, fn: Callable, encode: Callable,
                fn_bytes: Optional[bytes] = None) -> _TaskFuture:
        fut = _TaskFuture(self._rt.withdraw)
        with self._lock:
            if self._shutdown_flag:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if _shutting_down:
                raise RuntimeError("cannot schedule new futures after interpreter shutdown")
            blob = 0
            try:
                blob = self._rt.define(fn, fn_bytes)
                data, bufs = encode()
            except Exception as exc:  # unpicklable: this future fails, the executor goes on
                self._rt.release(blob)
                fut.set_exception(exc)
                return fut
            (fut._tid,) = self._rt.task_ids(1)
            self._pending[fut._tid] = fut
        fut.add_done_callback(self._forget)
        self._pool._submit([Task(fut._tid, kind, blob, data, bufs, fut)])
        self._rt.release(blob)  # the task holds the function now
        return fut

    def _submit_batch(self, fn: Callable, batch: list) -> _TaskFuture:
        return self._submit(M.STARMAP, fn, lambda: codec.dumps(batch))

    def _forget(self, fut: futures.Future) -> None:
        with self._lock:
            self._pending.pop(fut._tid, None)


def submit_prepickled(executor: Executor, fn: Callable, fn_bytes: bytes,
                      *args: Any) -> futures.Future:
    """``executor.submit(fn, *args)`` with ``fn`` pickled already (``fn_bytes``, what
    ``codec.dumps_callable`` gives): a large function object (netpool.joblib's holder of
    shared arrays) is pickled once, and sent once per worker like any function."""
    return executor._submit(M.CALL, fn, lambda: codec.dumps((args, {})), fn_bytes)


def _batched(it: Iterator, n: int) -> Iterator[list]:
    while True:
        batch = list(itertools.islice(it, n))
        if not batch:
            return
        yield batch


def _results(fs: deque, batches: Iterator, executor: "weakref.ref[Executor]", fn: Callable,
             end: Optional[float]) -> Iterator:
    """The iterator ``Executor.map`` returns: chunk futures in order, flattened.

    Holds the executor only weakly, as the stdlib's does, so a dropped executor still shuts
    down; with ``buffersize``, the next chunk is submitted before waiting for this one.
    """
    try:
        while fs:
            ex = executor()
            if ex is not None:
                batch = next(batches, None)
                if batch is not None:
                    fs.append(ex._submit_batch(fn, batch))
            del ex
            fut = fs.popleft()
            try:
                values = fut.result(None if end is None else end - time.monotonic())
            finally:
                fut.cancel()
                del fut  # no reference kept to a result already handed out
            values.reverse()
            while values:
                yield values.pop()
    finally:
        for fut in fs:
            fut.cancel()
