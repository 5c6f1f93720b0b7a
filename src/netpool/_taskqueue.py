"""The stdlib Pool's private task queue, for the recipes that feed it (``istarmap``).

A much-copied recipe adds ``istarmap`` (a lazy ``starmap``, for ``tqdm``) to
``multiprocessing.pool.Pool`` by doing what the stdlib's own ``imap`` does inside: it makes a
stdlib ``IMapIterator(pool)``, which enters itself in ``pool._cache`` under a job number, and
puts ``(tasks, set_length)`` on ``pool._taskqueue``, the tasks made by
``pool._guarded_task_generation(job, func, batches)`` from ``Pool._get_tasks(func, iterable,
chunksize)``. Under ``netpool run`` those names are netpool's: each task ``(job, i, func,
args, kwds)`` runs as an ``apply_async`` whose outcome goes to ``pool._cache[job]._set(i,
(success, value))``, as the stdlib's result handler delivers it, and ``set_length(n)`` is
called once all ``n`` tasks are sent. The tasks are read on a thread of their own, as the
stdlib's task handler reads them.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable, Iterable, Iterator


def get_tasks(func: Callable, iterable: Iterable, size: int) -> Iterator[tuple]:
    """``(func, chunk)`` for each ``size`` items of ``iterable`` (``Pool._get_tasks``)."""
    items = iter(iterable)
    while True:
        chunk = tuple(itertools.islice(items, size))
        if not chunk:
            return
        yield func, chunk


def guarded_tasks(job: int, func: Callable, iterable: Iterable) -> Iterator[tuple]:
    """``(job, i, func, (x,), {})`` for each ``x`` (``Pool._guarded_task_generation``); an
    error reading ``iterable`` becomes a last task that raises it, at its place."""
    i = -1
    try:
        for i, x in enumerate(iterable):
            yield job, i, func, (x,), {}
    except Exception as exc:
        yield job, i + 1, _reraise, (exc,), {}


def _reraise(exc: BaseException) -> None:
    raise exc


class TaskQueue:
    """``pool._taskqueue``: ``put((tasks, set_length))`` runs the tasks on ``pool``."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def qsize(self) -> int:
        """Tasks sent to the pool that no worker has taken yet, for the backpressure loops
        that poll ``pool._taskqueue.qsize()`` (the stdlib's counts calls its task handler
        has not read yet: either way, what is still waiting)."""
        return int(self._pool.stats()["queues"]["pending"])

    def empty(self) -> bool:
        return self.qsize() == 0

    def put(self, item: Any) -> None:
        if item is None:
            return  # the stdlib's sentinel: netpool's pool ends by close()/terminate()
        tasks, set_length = item
        threading.Thread(target=self._feed, args=(tasks, set_length),
                         name="netpool-taskqueue", daemon=True).start()

    def _feed(self, tasks: Iterable, set_length: Callable[[int], None]) -> None:
        n = 0
        for job, i, func, args, kwds in tasks:
            def deliver(value: Any, ok: bool, job: int = job, i: int = i) -> None:
                result = self._pool._cache.get(job)
                if result is not None:
                    result._set(i, (ok, value))
            try:
                self._pool.apply_async(func, args, kwds,
                                       callback=lambda v, d=deliver: d(v, True),
                                       error_callback=lambda e, d=deliver: d(e, False))
            except ValueError as exc:  # the pool was closed or terminated meanwhile
                deliver(exc, False)
                return
            n = i + 1
        if set_length is not None:
            set_length(n)
