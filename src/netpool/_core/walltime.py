"""When a worker whose batch job has a walltime must get its successor, and when it must stop
taking tasks: the pure timer behind walltime-aware draining.

Rules of this file: no I/O, clocks or threads; time arrives as ``now`` (the shell's monotonic
clock). The shell tells it when a worker joins and how long its job has left; on its ticks it
asks :meth:`Walltimes.due` and hands the events it returns to the Scheduler.

For a job of length L that ends at D:

* its successor is launched at ``D - lead``, ``lead`` being a tenth of L between 5 s and
  5 min (a batch queue's wait; the successor then joins about when the worker leaves), as a
  :class:`ReplacementDue` event, so the run does not stall in the queue;
* it stops taking tasks at ``D - margin - 1.5 * expected`` (``expected``: the measured seconds
  per task on it), as a :class:`RetireRequested`, so that the task it runs then still ends before
  D. Its queued tasks go to others; it exits gracefully; a loss after that is not charged.

A worker that never reports a walltime is never touched.
"""

from __future__ import annotations

import heapq
from typing import Callable

from .scheduler import ReplacementDue, RetireRequested, WorkerId

MARGIN = 2.0        # seconds kept free before the walltime, beyond the expected task length
MIN_LEAD, MAX_LEAD, LEAD_FRACTION = 5.0, 300.0, 0.1
RECHECK = 1.0       # the drain time is looked at again at least every max(this, L / 100)


def lead(length: float) -> float:
    """How long before a job's end its successor is launched."""
    return min(MAX_LEAD, max(MIN_LEAD, LEAD_FRACTION * length))


class Walltimes:
    """Deadlines of the workers that have one, in a heap of (time, worker, what) entries."""

    def __init__(self) -> None:
        self._deadline: dict[WorkerId, float] = {}
        self._every: dict[WorkerId, float] = {}   # how often its drain time is looked at
        self._heap: list[tuple[float, WorkerId, str]] = []

    def joined(self, worker: WorkerId, now: float, left: float) -> None:
        """``worker`` joined at ``now``; its job ends ``left`` seconds later."""
        left = max(left, 0.0)
        self._deadline[worker] = now + left
        self._every[worker] = max(RECHECK, left / 100)
        heapq.heappush(self._heap, (now + left - lead(left), worker, "replace"))
        heapq.heappush(self._heap, (now, worker, "drain"))

    def deadline(self, worker: WorkerId) -> float | None:
        return self._deadline.get(worker)

    def next_time(self) -> float | None:
        """The earliest ``now`` at which :meth:`due` may return something; None if none."""
        return self._heap[0][0] if self._heap else None

    def due(self, now: float, expected: Callable[[WorkerId], float],
            alive: Callable[[WorkerId], bool]) -> list:
        """The events due at ``now``. ``expected(worker)`` is its seconds per task (0 when
        unknown); ``alive(worker)`` whether the core still knows it (lazy deletion)."""
        out: list = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, worker, what = heapq.heappop(heap)
            end = self._deadline.get(worker)
            if end is None or not alive(worker):
                self._forget(worker)
                continue
            if what == "replace":
                out.append(ReplacementDue(worker))
                continue
            drain_at = end - MARGIN - 1.5 * expected(worker)
            if now >= drain_at:
                out.append(RetireRequested(worker, replace=True))
                self._forget(worker)
            else:  # not yet: look again then, or sooner, in case its tasks grow longer
                heapq.heappush(heap, (min(drain_at, now + self._every[worker]), worker, "drain"))
        return out

    def _forget(self, worker: WorkerId) -> None:
        self._deadline.pop(worker, None)
        self._every.pop(worker, None)
