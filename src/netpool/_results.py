"""The results of ``DistributedPool``'s calls: ``ApplyResult`` (``AsyncResult``) and
``MapResult``, and how a worker's reply becomes the stdlib's (success, value) pair.

Each is a *sink* (the runtime's interface, ``_runtime/loop.py``): the loop thread calls its
``_deliver`` with a reply, or its ``_fail`` with an exception; callbacks run there.
"""

from __future__ import annotations

import functools
import threading
import types
from _thread import allocate_lock as _allocate_lock
from multiprocessing import TimeoutError
from multiprocessing.pool import MaybeEncodingError, RemoteTraceback
from typing import Any, Callable, Optional

from ._protocol import codec
from ._protocol import messages as M
from ._runtime import forks


def remote_error(payload: bytes) -> BaseException:
    """The worker's exception, as the stdlib presents it: a ``RemoteTraceback`` cause whose
    text has the worker's frames, the script's real files and lines among them.

    The frames themselves (the worker sends them, tblib-encoded) are not made the
    exception's own ``__traceback__``: an uncaught task error then prints exactly as under
    the stdlib, where the worker's frames appear once, in the cause.
    """
    exc, rebuild_error, _frames, text, name, unpickled = codec.loads_raised(payload)
    tb_text = "".join(text)
    if rebuild_error is not None:  # e.g. a required constructor argument: say where it came from
        rebuild_error.__cause__ = RemoteTraceback(f'\n"""\n{tb_text}"""')
        return rebuild_error
    if exc is None:  # as a stdlib worker says it failed to send its ExceptionWithTraceback
        return encoding_error(unpickled or f"the exception {name} could not be pickled",
                              "<multiprocessing.pool.ExceptionWithTraceback object at "
                              f"{id(payload):#x}>")
    exc.__cause__ = RemoteTraceback(f'\n"""\n{tb_text}"""')
    return exc


def encoding_error(exc_repr: str, value_repr: str) -> MaybeEncodingError:
    err = MaybeEncodingError.__new__(MaybeEncodingError)
    Exception.__init__(err, exc_repr, value_repr)
    err.exc, err.value = exc_repr, value_repr
    return err


def outcome(status: int, payload: bytes, bufs: list) -> tuple[bool, Any]:
    """Decode a worker's reply into the stdlib's (success, value) pair."""
    try:
        if status == M.OK:
            return True, codec.loads(payload, bufs)
        if status == M.RAISED:
            return False, remote_error(payload)
        return False, encoding_error(*codec.loads(payload))
    except Exception as exc:  # e.g. the result's class cannot be imported here
        return False, exc


class ApplyResult:
    """The result of ``apply_async``: ``get``, ``wait``, ``ready``, ``successful``."""

    __module__ = "netpool.pool"  # where users find it (docs, reprs, pickles)

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
        self._finish(*outcome(status, payload, bufs))

    def _fail(self, tid: int, exc: BaseException) -> None:
        self._finish(False, exc)


AsyncResult = ApplyResult


class MapResult(ApplyResult):
    """The result of ``map_async``/``starmap_async``: all chunks, in order, no fail-fast."""

    __module__ = "netpool.pool"  # where users find it (docs, reprs, pickles)

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
        self._set(tid - self._first, *outcome(status, payload, bufs))

    def _fail(self, tid: int, exc: BaseException) -> None:
        self._set(tid - self._first, False, exc)


def track(cache: Any, jobs: Any, pool: Any, result: Any) -> Any:
    """Give ``result`` the next of ``jobs`` as its ``_job`` and put it in ``cache`` (the
    pool's ``_cache``: job number -> result not yet done) under it, as the stdlib does; it
    leaves once done (progress idioms poll ``pool._cache[r._job]._number_left``)."""
    result._job = job = next(jobs)
    if not getattr(result, "_done", False):
        cache[job] = result
        result._uncache = functools.partial(cache.pop, job, None)
        # As the stdlib's ApplyResult._pool: while the loop holds a pending result, the
        # result holds its pool, so a pool dropped with work outstanding finishes it.
        result._pool = pool
    return result
