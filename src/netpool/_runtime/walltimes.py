"""Walltime-aware draining, the shell's side: a mixin of ``Runtime`` (loop thread only).

A worker's READY says how long its batch job has left (``WorkerRec.job_left``); the pure
``_core.walltime.Walltimes`` decides when its successor is due and when it must stop taking
tasks, as events for the core; the loop wakes for them. See ``_core/walltime.py``.
"""

from __future__ import annotations

from math import inf
from typing import Any, Optional

from .._core import scheduler as S
from .._core.walltime import Walltimes


class Walltimed:
    _walltimes: Optional[Walltimes] = None

    def _walltime_joined(self, rec: Any, event: Any) -> None:
        """After the core handled ``event``: if a worker with a known walltime joined, watch it."""
        if type(event) is S.WorkerJoined and rec.job_left is not None:
            if self._walltimes is None:
                self._walltimes = Walltimes()
            self._walltimes.joined(rec.id, event.now, rec.job_left)

    def _walltime_tick(self, now: float) -> None:
        if self._walltimes is not None:
            sched = self._sched
            for event in self._walltimes.due(now, sched.expected_seconds,
                                             lambda w: sched.worker_state(w) is not None):
                self._handle(event)

    def _walltime_next(self) -> float:
        """When the loop must wake for a walltime decision (inf: none)."""
        when = self._walltimes.next_time() if self._walltimes is not None else None
        return inf if when is None else when
