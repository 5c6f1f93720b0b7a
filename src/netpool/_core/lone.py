"""The lone round trip, decided without the generic machinery: a mixin of ``Scheduler``.

Sequential ``apply`` is one task submitted while nothing waits, sent to an idle worker, and its
one result coming back. ``handle`` decides that through events, handler tables, ``_dispatch``
and command objects, which costs more than the decision itself. The two methods here decide
the same in a few lines, for that case only, and say so by what they return; in any other
case they return None having changed nothing, and the shell calls ``handle``.

Rules of this file:

* Each method's answer and the state it leaves are exactly those of the ``handle`` call it
  stands for (``tests/core`` runs both on copies of the scheduler, on every step, and compares
  the commands and every view).
* The preconditions exclude everything that would make ``handle`` do more than that one
  decision: a pending task (the order of the queue), a task waiting behind a head (a steal to
  plan), ``max_tasks`` (a retirement), a retiring worker, a close (workers to stop).
"""

from __future__ import annotations

from typing import Optional

from .events import TaskId, WorkerId


class LonePaths:
    """``submit_one`` and ``result_one``: see the module docstring."""

    def submit_one(self, task: TaskId) -> Optional[tuple[WorkerId, int]]:
        """``handle(TasksSubmitted((task,)))`` where that is ``[SendTasks(w, ((task, n),))]``:
        returns ``(w, n)``. None, and nothing changed, if anything is pending or waiting
        behind a head, no worker is idle or the demand cap lets none take it, a worker has
        ``max_tasks`` or the core is closing."""
        if (self._pending or not self._idle or self._waiting or self._closing
                or self.config.max_tasks is not None):
            return None
        free = self._idle_room()
        if free == 0:
            return None  # the demand cap keeps it pending
        wid = self._next_idle(free is not None)  # as _assign
        w = self._workers[wid]
        self._starved = False
        self._send(wid, w, task, [])
        self._roster.took_one(wid, w)
        return wid, self._attempts

    def result_one(self, worker: WorkerId, task: TaskId, attempt: int, now: float,
                   busy: Optional[float] = None) -> Optional[bool]:
        """``handle(ResultsArrived(worker, ((task, attempt),), now, busy))`` where that is
        at most ``[Resolve(task, worker, attempt)]``: True if it is that, False if it is
        nothing (a stale result, or a worker not joined). None, and nothing changed, if anything is
        pending or waiting behind a head, the worker retires, ``max_tasks`` is set or the
        core is closing."""
        w = self._workers.get(worker)
        if (self._pending or self._waiting or self._closing or (w is not None and w.retiring)
                or self.config.max_tasks is not None):
            return None
        w = self._heard_from(worker, now)
        if w is None:
            return False  # not joined (or gone): stale; nothing is pending to dispatch
        if self._where.get(task) != (worker, attempt):
            self._roster.reindex(worker)
            return False  # stale, stray or duplicate
        began = w.head_since
        w.queue.remove(task)  # its only task: nothing waits behind a head
        del self._where[task]
        self._killers.pop(task, None)
        self._new_head(w)
        per = max(self._now - began, 0.0) if busy is None else busy
        self._roster.observe_pace(w, per)
        self._demand.observe(self._now, per)
        self._roster.emptied(worker)
        return True

