"""The callable registry: one id per distinct pickled callable, shared by every task using it.

A callable is kept while something refers to it, then a little longer, then forgotten here
and on every worker (``FORGET``), so that a long run of distinct closures does not grow the
manager and the workers without end. What refers to it:

* a *hold*, taken by ``define`` and given back by ``release``: the caller's, from the moment
  it has the id until its tasks are submitted (an imap feeder holds it while it reads on);
* each submitted task that uses it, from ``retain`` (in ``Runtime.submit``, on the caller's
  thread, before any other thread can see the task) until the ``Task`` object is gone.

A task tells of its end from ``Task.__del__``, on whatever thread drops it last, perhaps in
the middle of code that holds this module's lock: so it only appends to a deque (atomic, never
blocks), and the counts are settled under the lock by the next ``define``, ``release`` or
``take_forgotten``. A count can only reach zero once every task and hold is gone: a task is
counted (``retain``) before its caller gives back the hold (``release``), on the same thread.

Unreferenced callables stay for reuse (a loop of ``pool.map(lambda ...)`` with the same
lambda would otherwise send it to every worker again and again), the most recently used
first, up to ``KEEP_IDLE`` of them and ``KEEP_IDLE_BYTES`` in all; the oldest beyond that are
forgotten. A callable forgotten and defined again gets a new id, so a worker can never run a
task with the wrong function.
"""

from __future__ import annotations

import itertools
import operator
import threading
import weakref
from collections import OrderedDict, deque
from types import FunctionType as _FunctionType
from typing import Any, Callable, Iterable, Optional

from .._protocol import codec

KEEP_IDLE = 64                  # unreferenced callables kept for reuse, at most ...
KEEP_IDLE_BYTES = 16 << 20      # ... and this many bytes of them


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(map(operator.is_, a, b))


class Blobs:
    """Callables by id. Thread-safe: any thread defines, retains and releases; the loop
    thread reads, and sends ``FORGET`` for what ``take_forgotten`` returns.

    Id 0 means "no callable" (a Context without a startup); it is never counted.
    """

    def __init__(self, on_new: Optional[Callable[[int, Any, str], None]] = None) -> None:
        self._on_new = on_new  # told (id, callable, name) of each new one: the journal
        self._ids = itertools.count(1)
        self._data: dict[int, bytes] = {}
        self._by_bytes: dict[bytes, int] = {}
        self._names: dict[int, str] = {}  # for error messages: which function
        # function -> (id, stamp); the stamp keeps the globals it names alive, as the
        # function itself does
        self._by_func: "weakref.WeakKeyDictionary[Any, tuple]" = weakref.WeakKeyDictionary()
        self._refs: dict[int, int] = {}    # holds and live tasks, by id
        self._idle: OrderedDict[int, None] = OrderedDict()  # unreferenced, oldest first
        self._idle_bytes = 0
        self._ended: deque[int] = deque()  # ids of tasks gone, not yet counted
        self._forgotten: list[int] = []    # ids forgotten here, not yet on the workers
        self._lock = threading.Lock()

    def define(self, obj: Any, data: Optional[bytes] = None) -> int:
        """A blob id for a callable (same bytes, same id), with a hold the caller gives back
        with ``release`` once its tasks are submitted. Raises what pickling it raises.

        A plain function is pickled once and found by identity afterwards, as long as
        ``codec.value_stamp`` says pickling it again would give the same bytes: cloudpickle
        costs ~25 us, a third of a small ``apply``, and a function of ``__main__`` goes
        through it on every call.
        """
        stamp = (codec.value_stamp(obj) if data is None and type(obj) is _FunctionType
                 else None)
        if stamp is not None:
            with self._lock:
                hit = self._by_func.get(obj)
                if hit is not None and hit[0] in self._data and _same(hit[1], stamp):
                    self._retain(hit[0], 1)
                    return hit[0]
        data = codec.dumps_callable(obj) if data is None else data
        with self._lock:
            bid = self._by_bytes.get(data)
            if bid is None:
                bid = self._by_bytes[data] = next(self._ids)
                self._data[bid] = data
                self._refs[bid] = 0
                self._names[bid] = getattr(obj, "__qualname__", None) or type(obj).__name__
                if self._on_new is not None:
                    self._on_new(bid, obj, self._names[bid])
            self._retain(bid, 1)
            if stamp is not None:
                self._by_func[obj] = (bid, stamp)
            return bid

    def release(self, bid: int) -> None:
        """Give back the hold ``define`` took (any thread; ``bid`` 0 or unknown: nothing)."""
        if not bid:
            return
        with self._lock:
            self._settle()
            if bid in self._refs:
                self._drop(bid)

    def retain(self, tasks: Iterable[Any], release: int = 0) -> None:
        """Count ``tasks`` as users of their callables until each ``Task`` object is gone
        (the caller's thread, before the tasks are handed on; they must hold their ids'
        holds, or be counted already). ``release``: then ``release(release)``, in the same
        lock round."""
        with self._lock:
            for t in tasks:
                if t.blob and t.refs is None:
                    self._retain(t.blob, 1)
                    t.refs = self
            if release:
                self._settle()
                if release in self._refs:
                    self._drop(release)

    def ended(self, bid: int) -> None:
        """A counted task is gone (``Task.__del__``, any thread, any moment): never blocks."""
        self._ended.append(bid)

    def take_forgotten(self) -> list[int]:
        """The ids forgotten since the last call, for the loop to tell the workers."""
        if not self._ended and not self._forgotten:
            return []
        with self._lock:
            self._settle()
            out, self._forgotten = self._forgotten, []
            return out

    def data(self, bid: int) -> bytes:
        return self._data[bid]

    def name(self, bid: int) -> str:
        """What the callable is called, for error messages ('' if unknown)."""
        return self._names.get(bid, "")

    def __len__(self) -> int:
        """How many callables are held, referenced or kept for reuse."""
        return len(self._data)

    # -- under the lock ------------------------------------------------------------------
    def _retain(self, bid: int, n: int) -> None:
        if self._refs[bid] == 0 and bid in self._idle:
            del self._idle[bid]
            self._idle_bytes -= len(self._data[bid])
        self._refs[bid] += n

    def _drop(self, bid: int) -> None:
        n = self._refs[bid] = self._refs[bid] - 1
        if n:
            return
        self._idle[bid] = None
        self._idle_bytes += len(self._data[bid])
        while self._idle and (len(self._idle) > KEEP_IDLE or self._idle_bytes > KEEP_IDLE_BYTES):
            old, _ = self._idle.popitem(last=False)
            data = self._data.pop(old)
            self._idle_bytes -= len(data)
            del self._by_bytes[data], self._refs[old]
            self._names.pop(old, None)
            self._forgotten.append(old)  # its _by_func entry, if any, is checked on use

    def _settle(self) -> None:
        ended = self._ended
        for _ in range(len(ended)):  # only what is there now; more may come meanwhile
            bid = ended.popleft()
            if bid in self._refs:
                self._drop(bid)
