"""Taking back tasks no worker has yet: what ``Future.cancel()`` needs of the runtime.

A mixin of ``Runtime`` (it works on the runtime's own tables, under its lock), kept apart
because only the Executor's cancellation uses it.
"""

from __future__ import annotations

from .._core import scheduler as S
from . import inbox


class Withdrawal:
    def withdraw(self, ids: list[int]) -> set[int]:
        """Take back those of ``ids`` not yet sent to a worker; returns the ids taken back.

        Any thread, callbacks included (sinks run outside the lock). Their sinks are never
        called; a task already on a worker (or done) is left alone.
        """
        with self._lock:
            if not self._running:
                return set()
            # Tasks submitted a moment ago may still wait in the inbox: take them in first,
            # from its front only (nobody else pops it while we hold the lock).
            items = self._inbox.items
            self._direct = True  # bookkeeping and sends only (docs/architecture.md)
            try:
                while items and type(items[0]) is inbox.Submit:
                    self._accept(items.popleft().tasks)
                pending = set(self._sched.pending).intersection(ids)
                if pending:
                    self._handle(S.TasksWithdrawn(tuple(pending)))
                    for tid in pending:
                        task = self._tasks.resolve(tid)
                        if task is not None:
                            self._tasks.journaled.withdrawn(task)
            finally:
                self._direct = False
            self._hand_over()
            return pending
