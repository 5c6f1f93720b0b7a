"""How many workers a pool should have, given its queue: the pure policy behind ``adapt()``.

Rules of this file: no I/O, clocks or threads; time arrives as ``now``. The shell asks
:meth:`Adaptive.decide` on its ticks with a :class:`Load` snapshot and carries out the
answer: launch ``grow`` more workers (of the pool's own kinds), retire the ``retire`` idle ones.

What keeps it from oscillating (dask-jobqueue's ``adapt`` loops starting and stopping jobs,
dask/dask-jobqueue#498), each rule checked by ``tests/core/test_adapt.py``:

* Workers still *starting* (a batch job waiting in its queue) count as capacity, so a long
  queue wait never launches more and more jobs for the same tasks.
* It grows only for work that no worker, live or starting, could take: one worker per
  outstanding task (pending or running), between ``minimum`` and ``maximum``.
* It retires only workers that have been idle for ``idle_after`` seconds while nothing was
  pending, never below ``minimum``, and never a worker that joined less than ``idle_after`` ago
  (so a worker launched for a burst is not stopped before it could take the next one).
* So the two never answer each other: growing needs more outstanding tasks than workers,
  retiring needs a worker idle for ``idle_after`` with nothing pending; under an unchanging
  load at most one of them ever acts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

WorkerId = int


@dataclass(frozen=True)
class Load:
    """What the shell sees at ``now``: task counts and, per live worker, since when it has
    been idle (None while it runs a task) and when it joined."""

    now: float
    pending: int                          # tasks waiting for a worker
    running: int                          # tasks on workers (queued or executing)
    starting: int                         # workers launched, not yet joined
    idle_since: dict[WorkerId, Optional[float]] = field(default_factory=dict)
    joined_at: dict[WorkerId, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    grow: int = 0
    retire: tuple[WorkerId, ...] = ()


class Adaptive:
    """The policy for one pool: ``minimum <= workers <= maximum``."""

    def __init__(self, minimum: int = 0, maximum: int = 1, idle_after: float = 30.0) -> None:
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
            raise ValueError(f"minimum must be an int >= 0, not {minimum!r}")
        if (isinstance(maximum, bool) or not isinstance(maximum, int)
                or maximum < max(minimum, 1)):
            raise ValueError(f"maximum must be an int >= max(minimum, 1), not {maximum!r}")
        if not idle_after > 0:
            raise ValueError(f"idle_after must be > 0 seconds, not {idle_after!r}")
        self.minimum, self.maximum, self.idle_after = minimum, maximum, float(idle_after)

    def decide(self, load: Load) -> Decision:
        """Launch ``grow`` workers, or retire the idle workers ``retire``; never both."""
        have = len(load.idle_since) + load.starting
        want = min(self.maximum, max(self.minimum, load.pending + load.running))
        if want > have:
            return Decision(grow=want - have)
        if load.pending or have <= want:
            return Decision()
        idle = sorted((since, wid) for wid, since in load.idle_since.items()
                      if since is not None and load.now - since >= self.idle_after
                      and load.now - load.joined_at.get(wid, float("-inf")) >= self.idle_after)
        return Decision(retire=tuple(wid for _, wid in idle[:have - want]))
