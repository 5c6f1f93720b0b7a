"""``DistributedPool``: multiprocessing.Pool's API and semantics, with workers anywhere.

Same methods, same exception types (``multiprocessing.TimeoutError``,
``multiprocessing.pool.MaybeEncodingError``, ``ValueError("Pool not running")``, the task's own
exception with a ``RemoteTraceback`` cause). Beyond the stdlib: a worker that dies has its
tasks rerun elsewhere (a task that keeps killing workers fails with ``PoisonTaskError``);
lambdas and closures work; ``imap`` pulls its input
lazily; large buffers travel out of band. Differences that remain: compat/DEVIATIONS.md.

Threads: ``callback`` and ``error_callback`` run on the pool's loop thread, as the stdlib
runs them on its result-handler thread: keep them short and never wait on the pool in them.
The input of ``imap``/``imap_unordered`` is consumed on a feeder thread of its own.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import sys
import threading
import time
from _thread import allocate_lock as _allocate_lock
import types
import warnings
import weakref
from collections import deque
from multiprocessing import TimeoutError
from multiprocessing.pool import MaybeEncodingError, RemoteTraceback
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from . import errors
from ._batching import Batch
from ._compat import WorkerProcess, call_arguments, start_method, worker_setup
from ._core.chunking import check_chunksize, cut, default_chunksize
from ._core.ordering import ReorderBuffer
from ._core.scheduler import Config
from ._protocol import codec
from ._protocol import messages as M
from ._runtime import failures, forks, reporting
from ._runtime import progress as progress_line
from ._runtime.journaled import open_journal
from ._runtime.forking import forked_worker
from ._runtime.loop import Runtime
from ._runtime.tasks import Task
from .launchers.base import ProcessWorker, Worker, WorkerArray, split_python
from .launchers.local import LocalWorker, default_host

RUN, CLOSE, TERMINATE = "RUN", "CLOSE", "TERMINATE"  # the stdlib's values, for code that compares
START_GRACE = 2.0  # seconds terminate() lets forked workers still starting finish their start



def _remote_error(payload: bytes) -> BaseException:
    """The worker's exception, as the stdlib presents it: a ``RemoteTraceback`` cause whose
    text has the worker's frames, the script's real files and lines among them.

    The frames themselves (the worker sends them, tblib-encoded) are not made the
    exception's own ``__traceback__``: an uncaught task error then prints exactly as under
    the stdlib, where the worker's frames appear once, in the cause.
    """
    exc, rebuild_error, _frames, text, name = codec.loads_raised(payload)
    tb_text = "".join(text)
    if rebuild_error is not None:  # e.g. a required constructor argument: say where it came from
        rebuild_error.__cause__ = RemoteTraceback(f'\n"""\n{tb_text}"""')
        return rebuild_error
    if exc is None:
        return _encoding_error(f"the exception {name} could not be pickled", tb_text.strip())
    exc.__cause__ = RemoteTraceback(f'\n"""\n{tb_text}"""')
    return exc


def _encoding_error(exc_repr: str, value_repr: str) -> MaybeEncodingError:
    err = MaybeEncodingError.__new__(MaybeEncodingError)
    Exception.__init__(err, exc_repr, value_repr)
    err.exc, err.value = exc_repr, value_repr
    return err


def _outcome(status: int, payload: bytes, bufs: list) -> tuple[bool, Any]:
    """Decode a worker's reply into the stdlib's (success, value) pair."""
    try:
        if status == M.OK:
            return True, codec.loads(payload, bufs)
        if status == M.RAISED:
            return False, _remote_error(payload)
        return False, _encoding_error(*codec.loads(payload))
    except Exception as exc:  # e.g. the result's class cannot be imported here
        return False, exc


class ApplyResult:
    """The result of ``apply_async``: ``get``, ``wait``, ``ready``, ``successful``."""

    def __init__(self, callback: Optional[Callable] = None,
                 error_callback: Optional[Callable] = None) -> None:
        # A held lock as the "done" latch, released once by _finish: a third of the cost of
        # a threading.Event (a Condition, a waiter lock per wait) on every apply's path.
        self._latch = _allocate_lock()
        self._latch.acquire()
        self._done = False
        self._callback, self._error_callback = callback, error_callback
        self._success = False
        self._value: Any = None
        self._pid = forks.pid  # a forked child must not wait for what only we can receive

    def ready(self) -> bool:
        return self._done

    def successful(self) -> bool:
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._success

    def wait(self, timeout: Optional[float] = None) -> None:
        """Raises ``ForkedPoolError`` in a forked child if not ready (it would never be)."""
        if self._done:
            return
        forks.check(self._pid, "pool's result")
        if timeout is None:
            got = self._latch.acquire()
        elif timeout > 0:
            got = self._latch.acquire(True, timeout)
        else:
            got = self._latch.acquire(False)
        if got:  # pass it on: every waiter, now and later, must get through
            self._latch.release()

    def get(self, timeout: Optional[float] = None) -> Any:
        """The value; raises the task's exception, or ``multiprocessing.TimeoutError``."""
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        if self._success:
            return self._value
        raise self._value

    __class_getitem__ = classmethod(types.GenericAlias)  # AsyncResult[int], as the stdlib's

    _hooks: Any = ()  # called once done, on the loop thread: netpool.aio adds to them

    def __await__(self) -> Any:
        """``await result``: the value (or the task's exception), not blocking the loop."""
        from .aio import wrap
        return wrap(self).__await__()

    _uncache: Optional[Callable] = None  # takes this result out of its pool's _cache

    def _finish(self, success: bool, value: Any) -> None:
        self._success, self._value = success, value
        if self._uncache is not None:
            self._uncache()
        cb = self._callback if success else self._error_callback
        if cb is not None:  # before the event, so the callback is done when wait() returns
            try:
                cb(value)
            except Exception:
                import traceback
                traceback.print_exc()
        self._callback = self._error_callback = None
        self._done = True
        self._latch.release()
        for hook in self._hooks:
            hook()

    # sink protocol, called on the loop thread
    def _deliver(self, tid: int, status: int, payload: bytes, bufs: list, worker: str) -> None:
        self._finish(*_outcome(status, payload, bufs))

    def _fail(self, tid: int, exc: BaseException) -> None:
        self._finish(False, exc)


AsyncResult = ApplyResult


class MapResult(ApplyResult):
    """The result of ``map_async``/``starmap_async``: all chunks, in order, no fail-fast."""

    def __init__(self, first_id: int, chunksize: int, length: int,
                 callback: Optional[Callable], error_callback: Optional[Callable]) -> None:
        super().__init__(callback, error_callback)
        self._first, self._chunksize = first_id, chunksize
        self._left = -(-length // chunksize) if length else 0
        self._value = [None] * length
        self._success = True
        self._lock = threading.Lock()
        if self._left == 0:
            self._finish(True, [])

    @property
    def _number_left(self) -> int:
        """Chunks not yet done, as the stdlib's MapResult counts them (progress idioms)."""
        return self._left

    def _set(self, i: int, success: bool, value: Any) -> None:
        with self._lock:
            self._left -= 1
            if success and self._success:
                self._value[i * self._chunksize:(i + 1) * self._chunksize] = value
            elif not success and self._success:
                self._success, self._value = False, value  # the first error is the one raised
            done = self._left == 0
        if done:
            self._finish(self._success, self._value)

    def _deliver(self, tid: int, status: int, payload: bytes, bufs: list, worker: str) -> None:
        self._set(tid - self._first, *_outcome(status, payload, bufs))

    def _fail(self, tid: int, exc: BaseException) -> None:
        self._set(tid - self._first, False, exc)


class IMapIterator:
    """Results of ``imap`` in input order; ``next(timeout)`` as in the stdlib.

    Each finished chunk is queued whole; ``next()`` takes items from the chunk being read
    without a lock (a list iterator's step is atomic), and takes the lock only between chunks.
    """

    _ordered = True

    def __init__(self, chunked: bool) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._items: deque = deque()      # (success, value) per finished chunk, in read order
        self._cur: Iterator = iter(())   # the chunk being read
        self._reorder = ReorderBuffer()
        self._ids: dict[int, int] = {}   # task id -> chunk index
        self._length: Optional[int] = None  # number of chunks, once the input is exhausted
        self._delivered = 0               # chunks handed to _items
        self._taken = 0                   # chunks the reader has started on
        self._chunked = chunked
        self._feed_wake_at = 0            # the feeder sleeps until _taken reaches this
        self._pid = forks.pid

    def __iter__(self) -> Iterator:
        # A generator that delegates to the chunk's list iterator: a ``for`` loop then pays a
        # generator step per item, not a Python call of next() (half the cost). It reads the
        # same state as next(), so the two may be mixed, and a loop left early loses nothing.
        return self._iterate()

    def _iterate(self) -> Iterator:
        while True:
            yield from self._cur
            try:
                item = self._next_chunk(None)
            except StopIteration:
                return
            yield item

    def __aiter__(self) -> Any:
        """``async for``: results as ``next()`` gives them, not blocking the event loop."""
        from .aio import aiterate
        return aiterate(self)

    def next(self, timeout: Optional[float] = None) -> Any:
        """The next result; raises StopIteration at the end, ``TimeoutError`` on timeout."""
        item = next(self._cur, _END)
        if item is not _END:
            return item
        return self._next_chunk(timeout)

    __next__ = next

    def _next_chunk(self, timeout: Optional[float]) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                # Another reader may have started a chunk while we waited for the lock.
                item = next(self._cur, _END)
                if item is not _END:
                    return item
                if self._items:
                    break
                if self._delivered == self._length:
                    raise StopIteration
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError
                forks.check(self._pid, "pool's result")  # a forked child would wait forever
                self._cond.wait(left)
            success, value = self._items.popleft()
            self._taken += 1
            if self._taken >= self._feed_wake_at:
                self._cond.notify_all()  # the feeder may send more
            if not success:
                raise value
            if not self._chunked:
                return value
            self._cur = it = iter(value)
            item = next(it, _END)
        if item is _END:  # an empty chunk (an empty input has none): the next one
            return self._next_chunk(timeout)
        return item

    def _push(self, index: int, success: bool, value: Any) -> None:
        """Loop or feeder thread: chunk ``index`` is done."""
        with self._cond:
            if self._ordered:
                ready = self._reorder.put(index, (success, value))
            else:
                ready = [(success, value)]
            if ready:
                self._delivered += len(ready)
                self._items.extend(ready)
                self._cond.notify_all()
                if self._delivered == self._length and self._uncache is not None:
                    self._uncache()

    def _deliver(self, tid: int, status: int, payload: bytes, bufs: list, worker: str) -> None:
        self._push(self._ids.pop(tid), *_outcome(status, payload, bufs))

    def _fail(self, tid: int, exc: BaseException) -> None:
        self._push(self._ids.pop(tid), False, exc)

    _uncache: Optional[Callable] = None

    def _set_length(self, n: int) -> None:
        with self._cond:
            self._length = n
            self._cond.notify_all()
            if self._delivered == n and self._uncache is not None:
                self._uncache()


_END = object()  # what next(iterator, _END) returns at a chunk's end

# Chunks an imap reads ahead on top of what its workers' windows take (not with a
# ``buffersize``, which stays exact). The loop hands results over in rounds, and a journal
# holds them back for a shared commit: done but not yet taken, they would otherwise take
# their place in the window from the tasks in flight, and tiny tasks' workers would wait
# (docs/performance.md, "Windows of tasks in flight"). Only chunks that pickle to at most
# READ_AHEAD_BYTES / READ_AHEAD bytes (64 KiB) get it, judged by the first one, so that
# big chunks do not hold up to 16 MiB more of input in memory; their tasks are long enough.
READ_AHEAD = 256
READ_AHEAD_BYTES = 16 << 20


class IMapUnorderedIterator(IMapIterator):
    """Results of ``imap_unordered``, in completion order."""

    _ordered = False


class DistributedPool:
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
        # The stdlib's own counter: a stdlib IMapIterator(pool) (the istarmap recipe,
        # _taskqueue.py) takes its job number from it and enters our _cache too.
        self._jobs = multiprocessing.pool.job_counter
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
        replace = all(_can_grow(w) for w in launchers)
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
        try:
            self._rt = Runtime(host=host, authkey=authkey,
                               python=split_python(python, sys.executable), config=cfg,
                               initializer=worker_setup(initializer, initargs, host,
                                                        launchers, forking, start, authkey,
                                                        context),
                               addresses=addresses, journal=log, fork=forked_worker(
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
        self._initializer = initializer
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

    def adapt(self, minimum: int = 0, maximum: Optional[int] = None,
              idle_after: float = 30.0) -> None:
        """Grow and shrink the pool with its queue, between ``minimum`` and ``maximum``
        workers (default: as many as the pool was made with).

        More workers are launched, like the pool's own (a one-worker job like a batch array,
        another local or SSH worker), for tasks that no worker, running or still in a batch
        queue, could take; a worker idle for ``idle_after`` seconds with nothing pending is
        retired gracefully, never below ``minimum``. Workers still starting count as
        capacity, and a worker younger than ``idle_after`` is never retired, so the pool does
        not oscillate (docs/launchers.md). Call again to change the bounds.

        Raises ``ValueError`` for bad bounds or when a launcher cannot start more workers of
        its kind (an SGE parallel environment, an srun step), ``ValueError("Pool not
        running")`` after close.
        """
        from ._core.adapt import Adaptive

        self._check_running()
        if not self._rt.config.replace:
            raise ValueError("adapt needs launchers that can start more workers of their kind "
                             "(local, SSH, batch arrays); these cannot: "
                             f"{[w for w in self._launchers if not _can_grow(w)]}")
        policy = Adaptive(minimum, self._processes if maximum is None else maximum, idle_after)
        self._processes = policy.maximum  # what default chunk sizes are planned for
        self._rt.adapt(policy, self._launchers)

    # -- where other workers can join ----------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the pool listens on: ``netpool worker HOST:PORT`` joins it."""
        return self._rt.address

    @property
    def addresses(self) -> list[str]:
        """Every address workers are told to try, best first (``address`` has the first)."""
        return list(self._rt.addresses)

    @property
    def authkey(self) -> bytes:
        return self._rt.authkey

    def worker_command(self) -> str:
        """The exact shell command that joins one more worker to this pool.

        The key goes in a 0600 file (never on the command line), removed when the pool
        stops; the file must be readable where the command runs.
        """
        forks.check(self._pid, "DistributedPool")
        return self._rt.worker_command()

    def status_command(self) -> str:
        """The shell command that shows this pool live from another terminal (``netpool
        status HOST:PORT --authkey-file PATH``; the key file as for ``worker_command``)."""
        forks.check(self._pid, "DistributedPool")
        return self._rt.status_command()

    @property
    def dashboard_url(self) -> Optional[str]:
        """The live dashboard's address, token included, with ``dashboard=True``; else None."""
        return reporting.dashboard_url(self._reporting)

    def stats(self) -> dict:
        """A snapshot of the pool now, as plain values (JSON-serialisable): every worker
        (id, host, pid, launcher, state, tasks done and failed, tasks on it, how long its
        running task has run, seconds since it was last heard from), the totals (submitted,
        done, failed, pending, running), failures by cause (exception type, worker deaths by
        how they ended, poison tasks) and queue lengths. Every field: docs/observability.md.

        Cheap enough to call often (O(workers), no I/O); any thread, a callback included.
        Raises ``ForkedPoolError`` in a forked child.
        """
        forks.check(self._pid, "DistributedPool")
        return self._rt.stats()

    # -- the stdlib surface ----------------------------------------------------------------
    def apply(self, func: Callable, args: Sequence = (), kwds: Optional[dict] = None) -> Any:
        """``func(*args, **kwds)`` on a worker; raises what it raises."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(self, func: Callable, args: Sequence = (), kwds: Optional[dict] = None,
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

    def imap(self, func: Callable, iterable: Iterable, chunksize: int = 1,
             buffersize: Optional[int] = None) -> IMapIterator:
        """Ordered results, lazily: the input is read only as far as a bounded window.

        ``buffersize`` (Python 3.15's) sets that window: at most that many chunks are read
        ahead of the results handed out; by default the window is sized for the workers.
        ``next()`` raises a failed task's (or chunk's) exception at its place, then goes on;
        an exception of the input comes at its place too, and ends the iteration.
        ``next(timeout)`` raises ``multiprocessing.TimeoutError``. ``chunksize < 1`` or
        ``buffersize < 1`` raise ``ValueError`` here, a ``buffersize`` that is not an int
        ``TypeError``.
        """
        return self._imap(IMapIterator, func, iterable, chunksize, buffersize)

    def imap_unordered(self, func: Callable, iterable: Iterable, chunksize: int = 1,
                       buffersize: Optional[int] = None) -> IMapUnorderedIterator:
        """Results as they complete, input read lazily within a bounded window (as imap)."""
        return self._imap(IMapUnorderedIterator, func, iterable, chunksize, buffersize)

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
        (the stdlib's would never become ready); their ``error_callback`` runs on the loop
        thread, before this returns unless it is called from a callback.
        """
        forks.check(self._pid, "DistributedPool")
        with self._lock:
            self._state = TERMINATE
        if hasattr(self, "_rt"):
            self._let_workers_start(START_GRACE)
            self._stop_runtime(10.0)
            self._finish_report()

    def _let_workers_start(self, grace: float) -> None:
        """Let local workers still starting run their initializer before they are stopped.

        The stdlib's ``Pool()`` forks every worker before it returns, and each runs the
        initializer at once: what it prints is there even when a short map ends before our
        workers (a fork, a supervisor, a handshake) have all started. At most ``grace``
        seconds, and only for forked workers with an initializer; not from a callback.
        """
        if not (self._forking and getattr(self, "_initializer", None) is not None) or \
                self._rt.on_loop_thread():
            return
        deadline = time.monotonic() + grace
        while (self._rt.alive and self._rt.worker_count(starting=True)
               and time.monotonic() < deadline):
            time.sleep(0.005)

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
        for w in _current_workers(self._launchers):
            if isinstance(w, ProcessWorker):  # a local worker, or the ssh client of one
                left = 5.0 if deadline is None else max(0.0, deadline - time.monotonic())
                w._reap(left)

    def __enter__(self) -> "DistributedPool":
        self._check_running()
        return self

    def __exit__(self, *exc: Any) -> None:
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
            self._stop_runtime(None)
            self._finish_report()

    def __reduce__(self) -> Any:
        raise NotImplementedError("pool objects cannot be passed between processes or pickled")

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} state={self._state} "
                f"workers={self._rt.worker_count()} address={self.address}>")

    # -- what real code reads, although private (compatibility surface) --------------------
    @property
    def _pool(self) -> list:
        """One entry per worker (``WorkerProcess``: pid, name, is_alive(), exitcode), as
        ``multiprocessing.pool.Pool._pool``; ``len(pool._pool)`` is the number of workers."""
        start = "fork" if self._forking else self._start
        return [WorkerProcess(w, start) for w in _current_workers(self._launchers)]

    def _track(self, result: Any) -> Any:
        """Put ``result`` in ``_cache`` (job number -> result not yet done), as the stdlib."""
        if not getattr(result, "_done", False):
            job = next(self._jobs)
            self._cache[job] = result
            result._uncache = functools.partial(self._cache.pop, job, None)
            # As the stdlib's ApplyResult._pool: while the loop holds a pending result, the
            # result holds its pool, so a pool dropped with work outstanding finishes it.
            result._pool = self
        return result

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
                batch.add(Task(tid, kind, blob, data, bufs, result))
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

    def _imap(self, cls: type, func: Callable, iterable: Iterable, chunksize: int,
              buffersize: Optional[int] = None) -> Any:
        self._check_running()
        if chunksize < 1:
            raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))
        if buffersize is not None:
            if not isinstance(buffersize, int):
                raise TypeError("buffersize must be an integer or None")
            if buffersize < 1:
                raise ValueError("buffersize must be None or >= 1")
        result = self._track(cls(chunked=True))
        try:  # how many tasks it will submit, for the progress line, if the input can say
            promise = self._rt.promise(-(-len(iterable) // chunksize))  # type: ignore[arg-type]
        except Exception:  # no len(): an iterator, a generator
            promise = self._rt.promise(None)
        blob: "int | Exception"
        try:
            blob = self._rt.define(func)
        except Exception as exc:  # as the stdlib: every chunk fails with it, in its place
            blob = exc
        # Enough to fill the workers' first windows: the wider ones tiny tasks get later
        # would have an infinite input read hundreds of items further ahead.
        window = buffersize or 8 + 2 * self._processes * max(self._rt.config.unpaced_window, 1)
        with self._lock:
            self._feeders += 1
        threading.Thread(target=self._feed, name="netpool-feeder", daemon=True,
                         args=(weakref.ref(result), cut(iterable, chunksize, lists=False),
                               blob, chunksize,
                               window, buffersize is not None, promise)).start()
        return result

    def _feed(self, ref: "weakref.ref[IMapIterator]", it: Iterator[Any],
              blob: "int | Exception",
              chunksize: int, window: int, buffered: bool, promise: Any) -> None:
        """Feeder thread: pulls the input only while fewer than ``window`` chunks are unread.

        It refills the window once half of it is read, or, for a ``buffersize`` (``buffered``),
        as each chunk is, as the stdlib does; close() then ends the input.

        What it reads goes out in batches, each within ``_batching.HOLD_SECONDS`` of its
        first chunk being read, even while the input blocks (see ``_batching``).
        """
        index = 0
        exhausted = False
        batch = Batch(self._submit)
        low = window - 1 if buffered else window // 2  # refill when this few are unread
        ahead = 0 if buffered else READ_AHEAD  # granted once the first chunk's size is known
        try:
            while self._state != TERMINATE:
                result = ref()
                if result is None:
                    return  # nobody can read the results any more
                with result._cond:
                    room = result._cond.wait_for(
                        lambda: index - result._taken <= low or self._state != RUN,
                        timeout=0.5)
                    if room:
                        # After close() the reader may never read on: the window stops
                        # holding the input back (the stdlib's imap had read it all), unless
                        # it is a buffersize, which then ends the input (gh-155477).
                        room = window - (index - result._taken) if self._state == RUN else window
                        result._feed_wake_at = index + room - low
                if self._state == CLOSE and buffered:
                    exhausted = True
                    del result
                    break
                if not room or self._state == TERMINATE:
                    # Let go before looking again, or ref() could never see it dropped and
                    # close() would wait for this feeder for ever.
                    del result
                    continue
                index, exhausted, size = self._feed_room(result, it, blob, chunksize, room,
                                                         index, batch)
                if ahead:
                    if 0 < size <= READ_AHEAD_BYTES // READ_AHEAD:
                        window += ahead
                        low = window // 2
                    ahead = 0
                promise.sent = index
                batch.flush()
                del result  # the tasks hold the result: no reference may outlive this
                if exhausted:
                    break
            result = ref()
            if result is not None:
                if not exhausted:  # terminated: the unread rest fails, the reader sees why
                    result._push(index, False, errors.Error("the pool was terminated"))
                    index += 1
                result._set_length(index)
        finally:
            batch.flush()
            self._rt.kept(promise)
            if not isinstance(blob, Exception):
                self._rt.release(blob)  # define's hold, kept while the input was read
            with self._lock:
                self._feeders -= 1
                if self._feeders == 0 and self._state == CLOSE:
                    self._rt.close()

    def _feed_room(self, result: IMapIterator, it: Iterator, blob: "int | Exception",
                   chunksize: int, room: int, index: int,
                   batch: Batch) -> tuple[int, bool, int]:
        """Read up to ``room`` chunks of ``it`` (``cut``'s) into ``batch``; returns the next
        index, whether the input is exhausted (or raised), and the pickled size of the first
        chunk (0: none; a range's slice counts as the list of ints it stands for)."""
        size = 0
        for _ in range(room):
            try:
                chunk = next(it, None)
            except Exception as exc:  # the input raised: surfaces at this position
                batch.flush()  # what was read before goes first
                result._push(index, False, exc)
                return index + 1, True, size
            if chunk is None:
                return index, True, size
            if isinstance(blob, Exception):  # the function could not be pickled
                result._push(index, False, blob)
                index += 1
                continue
            (tid,) = self._rt.task_ids(1)
            try:
                data, bufs = codec.dumps(chunk)
            except Exception as exc:
                result._push(index, False, exc)
            else:
                if not size:
                    size = len(data) + sum(memoryview(b).nbytes for b in bufs)
                    if type(chunk) is range:  # 5 bytes a pickled int: judged as before
                        size = max(size, 5 * len(chunk))
                result._ids[tid] = index
                batch.add(Task(tid, M.MAP, blob, data, bufs, result))
                if len(result._ids) == 1:  # nothing else unfinished: the workers wait for it
                    batch.flush()
            index += 1
        return index, False, size


def _positive(seconds: Optional[float]) -> Optional[float]:
    if seconds is not None and not seconds > 0:
        raise ValueError(f"task_timeout must be a positive number of seconds or None, not {seconds!r}")
    return None if seconds is None else float(seconds)


def _loop_failed(ref: "weakref.ref[DistributedPool]") -> None:
    pool = ref()
    if pool is not None:
        pool._state = TERMINATE  # every later call raises the loop's failure (_check_running)


def _can_grow(w: Any) -> bool:
    return w._can_replace() if isinstance(w, WorkerArray) else w._replacement() is not None


def _current_workers(launchers: list) -> list:
    """The Worker objects of now: each launcher, or the one that replaced it (in turn)."""
    out: list = []
    for launcher in launchers:
        for w in (launcher._get_workers() if isinstance(launcher, WorkerArray) else [launcher]):
            while getattr(w, "replaced_by", None) is not None:
                w = w.replaced_by
            if isinstance(w, WorkerArray):  # a batch member is replaced by a one-job array
                out += _current_workers([w])
            else:
                out.append(w)
    return out


Pool = DistributedPool
