"""``imap`` and ``imap_unordered``: their result iterators, and the feeder thread that
reads the input lazily, within a bounded window of chunks not yet read by the caller.

``Feeding`` is the part of ``DistributedPool`` that starts and runs feeders; the pool
provides what it uses (``_rt``, ``_lock``, ``_state``, ``_feeders``, ``_submit``, ...).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from multiprocessing import TimeoutError
from multiprocessing.pool import CLOSE, RUN, TERMINATE
from typing import Any, Callable, Iterable, Iterator, Optional

from . import errors
from ._batching import Batch, nbytes
from ._core.chunking import cut
from ._core.ordering import ReorderBuffer
from ._protocol import codec
from ._protocol import messages as M
from ._results import outcome
from ._runtime import forks
from ._runtime.tasks import Task


class IMapIterator:
    """Results of ``imap`` in input order; ``next(timeout)`` as in the stdlib.

    Each finished chunk is queued whole; ``next()`` takes items from the chunk being read
    without a lock (a list iterator's step is atomic), and takes the lock only between chunks.
    """

    __module__ = "netpool.pool"  # where users find it (docs, reprs, pickles)

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
        self._push(self._ids.pop(tid), *outcome(status, payload, bufs))

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

    __module__ = "netpool.pool"  # where users find it (docs, reprs, pickles)

    _ordered = False


class Feeding:
    """``imap``/``imap_unordered`` for ``DistributedPool``: one feeder thread per call."""

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
                n = nbytes(data, bufs)
                if not size:
                    size = n
                    if type(chunk) is range:  # 5 bytes a pickled int: judged as before
                        size = max(size, 5 * len(chunk))
                result._ids[tid] = index
                batch.add(Task(tid, M.MAP, blob, data, bufs, result), n)
                if len(result._ids) == 1:  # nothing else unfinished: the workers wait for it
                    batch.flush()
            index += 1
        return index, False, size
