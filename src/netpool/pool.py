"""``DistributedPool``: multiprocessing.Pool's API and semantics, with workers anywhere.

Same methods, same exception types (``multiprocessing.TimeoutError``,
``multiprocessing.pool.MaybeEncodingError``, ``ValueError("Pool not running")``, the task's own
exception with a ``RemoteTraceback`` cause). Beyond the stdlib: a worker that dies has its
tasks rerun elsewhere (a task that keeps killing workers fails with ``PoisonTaskError``);
lambdas and closures work; ``imap`` pulls its input lazily; large buffers travel out of band. Differences that remain: compat/DEVIATIONS.md.

Threads: ``callback`` and ``error_callback`` run on the pool's loop thread, as the stdlib
runs them on its result-handler thread: keep them short and never wait on the pool in them.
The input of ``imap``/``imap_unordered`` is consumed on a feeder thread of its own.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import threading
import time
import warnings
import weakref
from multiprocessing.pool import CLOSE, RUN, TERMINATE  # the stdlib's, for code that compares
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from . import errors
from ._batching import Batch, nbytes
from ._compat import NO_KWDS, call_arguments, start_method, worker_setup
from ._core.chunking import check_chunksize, cut, default_chunksize
from ._core.scheduler import Config
from ._imap import Feeding, IMapIterator, IMapUnorderedIterator
from ._pool_workers import START_GRACE, PoolWorkers, can_grow, current_workers
from ._protocol import codec
from ._protocol import messages as M
from ._results import ApplyResult, AsyncResult, MapResult, track
from ._runtime import failures, forks, reporting, progress as progress_line
from ._runtime.journaled import environment_of, open_journal
from ._runtime.forking import forked_worker
from ._runtime.loop import Runtime
from ._runtime.tasks import Task
from .launchers.base import ProcessWorker, Worker, WorkerArray, split_python
from .launchers.local import LocalWorker, default_host

__all__ = ["DistributedPool", "Pool", "ApplyResult", "AsyncResult", "MapResult",
           "IMapIterator", "IMapUnorderedIterator", "RUN", "CLOSE", "TERMINATE"]


class DistributedPool(Feeding, PoolWorkers):
    """A drop-in for ``multiprocessing.Pool`` whose workers may live on other hosts.

    ``processes`` local workers are started at once (``os.cpu_count()`` by default) and kept
    alive, unless ``workers`` gives the worker launchers to use instead (``LocalWorker()``,
    ``SSHWorker(host)``, scheduler arrays). ``python`` and ``host`` mean what they mean for
    ``Manager``; ``address`` and ``authkey`` let more workers join with ``netpool worker``.
    ``task_timeout`` (seconds, None: no limit) bounds one task: past it the worker's
    supervisor kills the worker and says why; the task counts as having killed a worker.
    ``heartbeat_timeout`` is how long a silent worker is trusted, ``max_attempts`` how many
    worker deaths a task may cause before it fails with ``PoisonTaskError``. ``window`` caps
    the tasks in flight per worker; the pool keeps only about 2 ms of work queued behind a
    running task (and at most 32 tasks until it knows how long they take), so long tasks
    are not queued behind each other and short ones still hide the network round trip.

    ``journal`` names a file where every finished task's outcome is kept, so that a rerun
    of the same program gets those from it instead of running them again (docs/journal.md).

    ``report`` names an HTML file written when the pool ends (joined, terminated, the
    with-block left, else at interpreter exit): its summary, failures by cause, a timeline
    of the tasks on each worker, its throughput. ``dashboard=True`` serves the same page
    live on 127.0.0.1, at a URL with a random token printed on stderr (``dashboard_url``).
    See docs/observability.md.

    ``adapt=(minimum, maximum)`` makes the pool adaptive from the start (see :meth:`adapt`):
    the ``workers`` are then only the kinds of worker to launch, and none is launched before
    work (or ``minimum``) asks for it.

    ``progress=True`` shows a live progress line on stderr (docs/observability.md); None
    (the default) means off, except under ``netpool run`` with stderr on a terminal; False
    is off everywhere. ``forward_output`` (default True) shows on this process's stdout
    and stderr what tasks print on workers whose output would otherwise go to a file
    (batch jobs), each line prefixed with its worker.

    Raises ``ValueError``/``TypeError`` for bad arguments as the stdlib does,
    ``JournalError`` for a journal that cannot be used, and ``WorkerStartError`` when the
    worker command cannot be run at all.
    """

    def __init__(self, processes: Optional[int] = None, initializer: Optional[Callable] = None,
                 initargs: Sequence = (), maxtasksperchild: Optional[int] = None,
                 context: Any = None, *, workers: Optional[Any] = None,
                 python: Optional[str] = None, host: Optional[str] = None,
                 authkey: Optional[bytes] = None, heartbeat_timeout: float = 30.0,
                 connect_timeout: float = 120.0, max_attempts: int = 3, window: int = 128,
                 journal: Optional[str] = None,
                 adapt: Optional[tuple[int, int]] = None,
                 task_timeout: Optional[float] = None, report: Optional[str] = None,
                 dashboard: bool = False, progress: progress_line.Mode = None,
                 forward_output: bool = True) -> None:
        self._state = RUN  # set first: __del__ must find it even if we raise below
        self._pid = forks.pid  # the process it belongs to (forks.py)
        self._lock = threading.Lock()  # guards _state changes against submits and feeders
        # Results not yet done, by job number, as the stdlib's _cache; weakly, so that an imap
        # iterator nobody reads any more is still dropped (and stops reading its input).
        self._cache: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
        self._jobs = multiprocessing.pool.job_counter  # a stdlib IMapIterator uses it too
        if processes is not None and processes < 1:
            raise ValueError("Number of processes must be at least 1")
        if maxtasksperchild is not None and (not isinstance(maxtasksperchild, int)
                                             or maxtasksperchild <= 0):
            raise ValueError("maxtasksperchild must be a positive int or None")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if workers is None:
            launchers: list = [LocalWorker() for _ in range(processes or os.cpu_count() or 1)]
        else:
            launchers = list(workers) if isinstance(workers, (list, tuple)) else [workers]
            bad = [w for w in launchers if not isinstance(w, (Worker, WorkerArray))]
            if bad:
                raise TypeError(f"workers must be Worker or WorkerArray objects, not {bad[0]!r}")
        # Dead workers are replaced, as the stdlib does, when every launcher can do it: local
        # and ssh workers by another, a batch array's member by a one-worker job like it.
        replace = all(can_grow(w) for w in launchers)
        # The stdlib keeps ``processes`` as given (``Pool(True)._processes is True``).
        self._processes = processes if workers is None and processes is not None else sum(
            len(w._get_workers()) if isinstance(w, WorkerArray) else 1 for w in launchers)
        host, addresses = default_host(launchers, host)
        start = start_method(context)
        forking = python is None and start == "fork"
        if authkey is None:  # made here: the workers' setup is sealed with it (_compat.py)
            authkey = os.urandom(32)
        cfg = Config(window=window, max_attempts=max_attempts, max_tasks=maxtasksperchild,
                     replace=replace, heartbeat_timeout=heartbeat_timeout,
                     connect_timeout=connect_timeout, task_timeout=_positive(task_timeout))
        self._reporting = reporting.start("DistributedPool", report, dashboard)
        log = open_journal(journal)
        environment = environment_of(initializer, initargs) if log is not None else b""
        try:
            self._rt = Runtime(host=host, authkey=authkey,
                               python=split_python(python, sys.executable), config=cfg,
                               initializer=worker_setup(initializer, initargs, host,
                                                        launchers, forking, start, authkey,
                                                        context),
                               addresses=addresses, journal=log, environment=environment,
                               fork=forked_worker(
                                   functools.partial(initializer, *initargs) if initializer
                                   else None) if forking else None)  # called with our objects
        except BaseException:
            if log is not None:
                log.close()
            if self._reporting is not None:
                self._reporting.finish()
            raise
        if self._reporting is not None:
            self._reporting.attach(self._rt)
        self._launchers, self._forking, self._start = launchers, forking, start
        self._keep_arguments(initializer, initargs, maxtasksperchild, context)
        self._rt.forward_output = bool(forward_output)
        # A loop that dies shows in the state at once (a weak reference: the loop thread
        # must not keep a dropped pool alive, or it would never be terminated).
        self._rt.on_failure = functools.partial(_loop_failed, weakref.ref(self))
        self._feeders = 0
        try:
            if adapt is not None:
                self.adapt(*adapt)
            else:
                for w in launchers:
                    self._rt.launch(w)
            # The line's thread holds the runtime, never the pool (which must stay droppable).
            self._progress = progress_line.start(self._rt, progress)
        except BaseException:
            self.terminate()
            raise

    def apply(self, func: Callable, args: Sequence = (), kwds: Mapping = NO_KWDS) -> Any:
        """``func(*args, **kwds)`` on a worker; raises what it raises."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(self, func: Callable, args: Sequence = (), kwds: Mapping = NO_KWDS,
                    callback: Optional[Callable] = None,
                    error_callback: Optional[Callable] = None) -> ApplyResult:
        """``func(*args, **kwds)`` on a worker; ``get()`` gives its value or raises.

        Raises ``ValueError("Pool not running")`` after close/terminate. ``get()`` raises the
        task's exception (``RemoteTraceback`` as its cause), ``MaybeEncodingError`` for a
        result nothing can pickle, or the pickling error of ``func``/``args``. ``callback`` or
        ``error_callback`` runs once, on the loop thread; on the calling thread, before this
        returns, when the call fails before anything is sent.
        """
        self._check_running()
        result = self._track(ApplyResult(callback, error_callback))
        blob = 0
        try:
            blob = self._rt.define(func)
            data, bufs = codec.dumps(call_arguments(func, args, kwds))
        except Exception as exc:  # unpicklable: this call fails, the pool goes on
            self._rt.release(blob)
            result._fail(-1, exc)
            return result
        # The task takes over define's hold, released before it is sent.
        (tid,) = self._rt.task_ids(1)
        self._submit([Task(tid, M.CALL, blob, data, bufs, result)], blob)
        return result

    def map(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None) -> list:
        """``list(map(func, iterable))`` computed by the workers, in order."""
        return self._map_async(func, iterable, M.MAP, chunksize).get()

    def starmap(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None) -> list:
        """``[func(*args) for args in iterable]`` computed by the workers, in order."""
        return self._map_async(func, iterable, M.STARMAP, chunksize).get()

    def map_async(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None,
                  callback: Optional[Callable] = None,
                  error_callback: Optional[Callable] = None) -> MapResult:
        """``map`` without waiting; ``get()`` raises the first failure, once all are done.

        The input is read here, whole (its own exception comes out of this call unless it
        has ``__len__``); ``chunksize < 1`` raises ``ValueError``. ``callback`` gets the whole
        list, ``error_callback`` the exception, once, on the loop thread (an empty input calls
        ``callback([])`` at once, on this thread).
        """
        return self._map_async(func, iterable, M.MAP, chunksize, callback, error_callback)

    def starmap_async(self, func: Callable, iterable: Iterable, chunksize: Optional[int] = None,
                      callback: Optional[Callable] = None,
                      error_callback: Optional[Callable] = None) -> MapResult:
        """``starmap`` without waiting; as ``map_async``."""
        return self._map_async(func, iterable, M.STARMAP, chunksize, callback, error_callback)

    def close(self) -> None:
        """No more tasks; workers exit once the submitted ones are done."""
        forks.check(self._pid, "DistributedPool")
        with self._lock:
            if self._state == RUN:
                self._state = CLOSE
                if self._feeders == 0:
                    self._rt.close()

    def terminate(self) -> None:
        """Stop now: running tasks are killed on every worker, local or remote.

        Every result not yet ready fails with ``netpool.Error("the pool was terminated")``
        (the stdlib's would never become ready), without calling its ``error_callback`` (the
        stdlib never does), so a program's output stays the same.
        """
        forks.check(self._pid, "DistributedPool")
        with self._lock:
            self._state = TERMINATE
            for result in list(self._cache.values()):
                result._error_callback = None  # the loop thread reads it once, at the end
        if hasattr(self, "_rt"):
            self._let_workers_start(START_GRACE)
            self._stop_runtime(10.0)
            self._finish_report()

    def join(self, timeout: Optional[float] = None) -> None:
        """Wait for the workers to exit, after ``close()`` or ``terminate()``."""
        forks.check(self._pid, "DistributedPool")
        if self._state == RUN:
            raise ValueError("Pool is still running")
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._rt.join(timeout):
            return
        self._finish_report()
        # As the stdlib's join, which joins each worker process: a worker that has dropped
        # its link may still be exiting (a local one, or the ssh client relaying the end of
        # a remote one); reap it (a few ms), so is_alive() is False.
        for w in current_workers(self._launchers):
            if isinstance(w, ProcessWorker):  # a local worker, or the ssh client of one
                left = 5.0 if deadline is None else max(0.0, deadline - time.monotonic())
                w._reap(left)

    def __enter__(self) -> "DistributedPool":
        self._check_running()
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if self._pid == forks.pid:  # a forked child leaving the block leaves ours alone
            self.terminate()

    def __del__(self, _warn: Callable = warnings.warn) -> None:
        # As the stdlib: a running pool that is dropped warns, and is terminated (there by a
        # finalizer). _warn is bound now because module globals may be gone at exit.
        if (getattr(self, "_state", None) == RUN and hasattr(self, "_rt")
                and self._pid == forks.pid):
            _warn(f"unclosed running multiprocessing pool {self!r}", ResourceWarning,
                  source=self)
            self._state = TERMINATE
            self._let_workers_start(START_GRACE)  # as terminate(), as the stdlib's finalizer
            self._stop_runtime(None)
            self._finish_report()

    def __reduce__(self) -> Any:
        raise NotImplementedError("pool objects cannot be passed between processes or pickled")

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} state={self._state} "
                f"workers={self._rt.worker_count()} address={self.address}>")

    # -- what real code reads, although private (compatibility surface) --------------------
    def _track(self, result: Any) -> Any:
        """Put ``result`` in ``_cache`` (job number -> result not yet done), as the stdlib."""
        return track(self._cache, self._jobs, self, result)

    # -- internals -------------------------------------------------------------------------
    def _check_running(self) -> None:
        """``ForkedPoolError`` in a forked child, ``ValueError`` once closed, ``netpool.Error``
        once the loop has died."""
        if self._pid != forks.pid:
            forks.check(self._pid, "DistributedPool")
        if self._state != RUN:
            if self._rt.failure is not None:
                raise failures.error(self._rt.failure)
            raise ValueError("Pool not running")

    def _finish_report(self) -> None:
        if getattr(self, "_reporting", None) is not None:
            self._reporting.finish()

    def _stop_runtime(self, wait: Optional[float]) -> None:
        # The stdlib allows terminate() in a callback, but our callbacks run on the loop
        # thread, which cannot wait for its own end: there a helper thread does the stopping,
        # which starts as soon as the callback returns.
        if self._rt.on_loop_thread():
            threading.Thread(target=self._rt.terminate, kwargs={"wait": wait},
                             name="netpool-terminate", daemon=True).start()
        else:
            self._rt.terminate(wait=wait)

    def _submit(self, tasks: list, hold: int = 0) -> None:
        """Hand tasks to the runtime, or fail them if the pool was terminated meanwhile;
        either way give back define's ``hold`` (a blob id, or 0: none).

        Under the lock terminate() takes to change the state, so a task either reaches the
        runtime's inbox before its terminate command (which then fails it) or is failed
        here: no result ever waits for a task the runtime will never see.
        """
        with self._lock:
            if self._state != TERMINATE:
                self._rt.submit(tasks, hold)
                return
        self._rt.release(hold)
        failure = self._rt.failure
        exc = failures.error(failure) if failure else errors.Error("the pool was terminated")
        for t in tasks:
            t.sink._fail(t.id, exc)

    def _map_async(self, func: Callable, iterable: Iterable, kind: int,
                   chunksize: Optional[int] = None, callback: Optional[Callable] = None,
                   error_callback: Optional[Callable] = None) -> MapResult:
        self._check_running()
        check_chunksize(chunksize)
        if not hasattr(iterable, "__len__"):
            iterable = list(iterable)
        if chunksize is None:
            chunksize = default_chunksize(len(iterable), self._processes)
        n_chunks = -(-len(iterable) // chunksize)
        ids = self._rt.task_ids(n_chunks)
        result = self._track(MapResult(ids[0] if ids else 0, chunksize, len(iterable),
                                       callback, error_callback))
        if not ids:
            return result
        # The first chunk goes out as soon as it is pickled, the rest in batches (as imap's
        # feeder sends them, each within HOLD_SECONDS of its first task): the workers start
        # while the rest is being cut and pickled, as the stdlib's task handler lets them.
        batch = Batch(self._submit)
        made, blob = 0, 0
        try:
            blob = self._rt.define(func)
            for tid, chunk in zip(ids, cut(iterable, chunksize)):
                data, bufs = codec.dumps(chunk)
                batch.add(Task(tid, kind, blob, data, bufs, result), nbytes(data, bufs))
                made += 1
                if made == 1:
                    batch.flush()
        except Exception as exc:  # bad input or an unpicklable item: fail this call only
            batch.flush()
            self._rt.release(blob)
            for tid in ids[made:]:
                result._fail(tid, exc)
            return result
        batch.flush()
        self._rt.release(blob)  # the tasks hold the function now
        return result


def _positive(seconds: Optional[float]) -> Optional[float]:
    if seconds is not None and not seconds > 0:
        raise ValueError(f"task_timeout must be a positive number of seconds or None, not {seconds!r}")
    return None if seconds is None else float(seconds)


def _loop_failed(ref: "weakref.ref[DistributedPool]") -> None:
    pool = ref()
    if pool is not None:
        pool._state = TERMINATE  # every later call raises the loop's failure (_check_running)



Pool = DistributedPool