"""The shell's task table: payloads and sinks by task id, for the tasks the core knows.

Every task enters through ``accept`` and leaves through ``resolve`` (a result or a failure
was decided for it), which makes them the one place to observe tasks: a journal or a stats
view hooks in here. Touched by the thread that owns the core only.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator, Optional

from .journaled import Journal, JournaledTasks


class Task:
    """One unit of work as the shell sees it; the core sees only ``id``."""

    __slots__ = ("id", "kind", "blob", "payload", "bufs", "sink", "ident", "refs", "journal")

    def __init__(self, id: int, kind: int, blob: int, payload: bytes, bufs: list, sink: Any,
                 ident: Any = None):
        self.id, self.kind, self.blob = id, kind, blob
        self.payload, self.bufs, self.sink = payload, bufs, sink
        self.ident = ident  # a Context's task callable: what the journal identifies it by
        self.refs: Any = None  # the Blobs counting this task as a user of its callable
        self.journal: Any = None  # its mark while it runs, if journaled (journaled.py)

    def __del__(self) -> None:
        # The task is gone, whichever way it ended (result, failure, withdrawal, the
        # journal's answer): its callable has one user less (blobs.py; never blocks).
        if self.refs is not None:
            self.refs.ended(self.blob)


class TaskTable:
    """Tasks by id, from submission until their outcome is decided.

    With a journal, ``journaled`` answers the tasks whose outcome is recorded before they
    enter the table, and records the outcomes of the others (journaled.py).
    """

    def __init__(self, journal: Optional[Journal] = None,
                 environment: Optional[bytes] = b"") -> None:
        self._tasks: dict[int, Task] = {}
        self._ids = itertools.count()
        self.journaled = JournaledTasks(journal, environment)
        self.accepted = 0  # tasks that entered the table, ever (stats: submitted)

    def new_ids(self, n: int) -> list[int]:
        """``n`` fresh task ids; any thread (read from the count in C: atomic under the GIL)."""
        return list(itertools.islice(self._ids, n))

    def accept(self, tasks: list[Task], to_sink: Callable[..., None]) -> tuple[int, ...]:
        """Add the tasks that must run; their ids, for ``TasksSubmitted``.

        Those the journal answers go to their sinks through ``to_sink`` instead.
        """
        tasks = self.journaled.admit(tasks, to_sink)
        table = self._tasks
        for t in tasks:
            table[t.id] = t
        self.accepted += len(tasks)
        return tuple(t.id for t in tasks)

    def __getitem__(self, tid: int) -> Task:
        return self._tasks[tid]

    def __len__(self) -> int:
        return len(self._tasks)

    def resolve(self, tid: int) -> Optional[Task]:
        """Remove the task whose outcome was decided (None if it was already)."""
        return self._tasks.pop(tid, None)

    def resolve_all(self) -> Iterator[Task]:
        """Remove every task, yielding each (the runtime is ending)."""
        for tid in list(self._tasks):  # in submission order
            task = self._tasks.pop(tid, None)
            if task is not None:
                yield task
