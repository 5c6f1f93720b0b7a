"""The scheduler's read-only views, for the shell and for tests: a mixin of ``Scheduler``.

Rules of this file: nothing here changes the scheduler's state (``next_deadline`` may drop
stale steal-heap entries, which changes no decision). O(1) unless the docstring says
otherwise.
"""

from __future__ import annotations

from typing import Optional

from .adapt import Load
from .events import TaskId, WorkerId, WorkerState


class Views:
    """What the shell and the tests may read of a ``Scheduler``."""

    @property
    def pending(self) -> tuple[TaskId, ...]:
        return tuple(self._pending)

    def running_on(self, worker: WorkerId) -> tuple[TaskId, ...]:
        w = self._workers.get(worker)
        return tuple(w.queue) if w else ()

    def worker_state(self, worker: WorkerId) -> Optional[WorkerState]:
        w = self._workers.get(worker)
        return w.state if w else None

    @property
    def workers(self) -> dict[WorkerId, WorkerState]:
        """Every worker's state: O(workers), for tests and status views, not the hot path."""
        return {wid: w.state for wid, w in self._workers.items()}

    def worker_times(self, worker: WorkerId) -> Optional[tuple[float, float]]:
        """``(since, head_since)`` of ``worker`` as the events' clocks gave them: its launch
        time while starting, else its last contact; when its head task started. None if the
        core does not know it."""
        w = self._workers.get(worker)
        return (w.since, w.head_since) if w else None

    def expected_seconds(self, worker: WorkerId) -> float:
        """How long a task is expected to take on ``worker``: its recent pace, else the mean
        of the others' (0.0 when nothing is known yet; O(workers), off the hot path)."""
        return self._roster.expected_seconds(worker)

    @property
    def starts_failing(self) -> bool:
        """Have so many starts in a row failed that no more workers are launched?"""
        return self._start_failures >= self.config.max_start_failures

    def load(self, now: float) -> Load:
        """What the adapt policy needs, at ``now``: O(workers), for a once-a-second look.

        Workers leaving (retiring, stopped) are not counted as capacity; their tasks are."""
        return self._roster.load(now, len(self._pending))

    @property
    def idle(self) -> bool:
        """No task is pending or running."""
        return not self._pending and not self._where

    @property
    def in_flight(self) -> int:
        """Tasks pending or running: submitted and not yet resolved, failed or withdrawn."""
        return len(self._pending) + len(self._where)

    def next_deadline(self) -> Optional[float]:
        """The earliest time at which a ``Tick`` may decide something; None if no such time.

        A Tick earlier than this returns nothing, so the shell may sleep until then unless
        an event comes first. Events move deadlines: ask again after each.
        """
        lapse = self._cap_lapse()
        deadline = self._roster.next_deadline(steal=lapse is None)
        if deadline is None or lapse is None:  # asked after every event: no generator here
            return lapse if deadline is None else deadline
        return min(deadline, lapse)

    def _cap_lapse(self) -> Optional[float]:
        """When the cap, which now keeps idle workers from pending or stealable tasks, stops
        doing so (it lapses unless results measure it again); None if it keeps none."""
        if not self._idle or self._idle_room() != 0:
            return None
        if self._pending:
            return self._demand.until
        if self._roster.steal_top() is not None:
            return max(self._demand.until,
                       self._roster.steal_since() + self.config.steal_after)
        return None

    @property
    def demand_cap(self) -> Optional[int]:
        """How many workers may hold tasks at once now (demand.py), or None if no cap holds."""
        return self._demand.cap_at(self._now)

    @property
    def busy_workers(self) -> int:
        """Live workers holding tasks (O(1))."""
        return self._roster.busy
