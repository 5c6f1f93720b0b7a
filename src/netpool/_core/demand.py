"""How many workers need tasks at once: the demand cap, by Little's law.

Rules of this file: pure, like the rest of ``_core`` (no I/O, clocks or threads; time
arrives as ``now``); O(1) per call, because the scheduler calls it on every result.

Why: on a machine with fewer cores than workers (256 ``netpool worker`` processes on 2
cores), spreading tiny tasks over every worker makes each wake-up of a worker cache-cold and
a CPU switch among hundreds of processes, while the manager can hand out only so many tasks a
second anyway. By Little's law the workers busy at once are ``L = lambda * S``: the rate at
which tasks complete times the seconds each takes on its worker. The results themselves say
both: the busy seconds they report over the wall seconds they came in is ``L`` directly. So
the scheduler serves at most ``cap = ceil(headroom * L) + margin`` workers; the others stay
idle (kept, not retired), and the few that are served stay warm and take wide windows.

Why it cannot cost throughput or starve anything:

* Saturated workers measure ``L`` equal to their number, so the cap moves to at least twice
  that plus the margin at the next measurement: it grows geometrically until the workers it
  serves are not all busy. Long tasks (every worker busy) put it above the worker count, and
  then it changes nothing.
* It is at least 1 (``margin >= 1``): pending tasks always have a worker.
* It holds only for ``HOLD_PERIODS`` measurement periods after the last measurement: a
  measurement needs results, and when none come (the served workers all run long tasks now,
  or died) the cap lapses and every idle worker takes work again. The scheduler reports the
  lapse as a deadline while the cap keeps idle workers from pending or stealable tasks.
* Until the first measurement there is no cap.
"""

from __future__ import annotations

import math
from typing import Optional

#: A cap lapses this many measurement periods after it was measured, unless measured again.
HOLD_PERIODS = 4


class Demand:
    """The measured demand for workers, and the cap it gives (see the module docstring)."""

    __slots__ = ("period", "headroom", "margin", "start", "busy", "cap", "until", "load")

    def __init__(self, period: float, headroom: float, margin: int) -> None:
        if not period > 0 or not headroom >= 1 or margin < 1:
            raise ValueError(f"demand cap: period {period!r} must be > 0, headroom "
                             f"{headroom!r} >= 1, margin {margin!r} >= 1")
        self.period, self.headroom, self.margin = period, headroom, margin
        self.start: Optional[float] = None  # when the current measurement began
        self.busy = 0.0                     # busy seconds reported since then
        self.cap = 0                        # workers to serve, while now < until
        self.until = -math.inf              # when the cap lapses
        self.load = 0.0                     # the last L measured (for views and tests)

    def observe(self, now: float, busy: float) -> None:
        """Results came at ``now`` carrying ``busy`` seconds of work (>= 0).

        A measurement ends when a result comes at least ``period`` after it began: ``L`` is
        the busy seconds of its results over its wall seconds."""
        if self.start is None:
            self.start = now  # what these results took began before: L errs high, safe
        self.busy += busy
        elapsed = now - self.start
        if elapsed >= self.period:
            self.load = self.busy / elapsed
            # min() first: a load of inf (busy reported for a zero-length span) stays finite
            self.cap = self.margin + math.ceil(min(self.headroom * self.load, 1e9))
            self.start, self.busy = now, 0.0
            self.until = now + HOLD_PERIODS * self.period

    def cap_at(self, now: float) -> Optional[int]:
        """The workers to serve at ``now``, or None if no cap holds."""
        return self.cap if now < self.until else None
