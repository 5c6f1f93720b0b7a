"""Adaptive pools, the shell's side: a mixin of ``Runtime``.

Once a second (while adaptive) the loop asks the pure policy (``_core/adapt.py``) what to do
with the core's ``load``: it launches new workers from the pool's own launchers (a one-worker
job like an array, another local or SSH worker) and retires idle ones through the core
(``RetireRequested``: graceful, never replaced, never charged).
"""

from __future__ import annotations

import logging
from math import inf
from typing import Any, Optional

from .._core import scheduler as S
from .._core.adapt import Adaptive

log = logging.getLogger("netpool")

ADAPT_EVERY = 1.0  # seconds between looks: a batch job takes longer than that to start


class Adapting:
    _adapting: Optional[tuple[Adaptive, list]] = None
    _adapt_at = inf

    def adapt(self, policy: Adaptive, templates: list) -> None:
        """From now on keep ``policy.minimum`` to ``policy.maximum`` workers, launched from
        ``templates`` (launchers whose ``_replacement``/``_resubmission`` make more). Any
        thread."""
        with self._lock:
            self._adapting, self._adapt_at = (policy, list(templates)), 0.0
        self._inbox.wake()

    def _adapt_tick(self, now: float) -> None:
        if self._adapting is None or now < self._adapt_at or self._closing:
            return
        self._adapt_at = now + ADAPT_EVERY
        policy, templates = self._adapting
        decision = policy.decide(self._sched.load(now))
        for wid in decision.retire:
            log.info("netpool: adapt retires idle worker %d", wid)
            self._handle(S.RetireRequested(wid))
        grow = 0 if self._sched.starts_failing else decision.grow
        if grow:
            log.info("netpool: adapt launches %d worker(s)", grow)
        for template, n in _share(templates, grow):
            try:
                for fresh in _more(template, n):
                    self._launching.launch(fresh)
            except Exception as exc:  # counted by the core as failed starts
                log.error("netpool: adapt could not launch workers: %s", exc)

    def _adapt_next(self) -> float:
        return self._adapt_at if self._adapting is not None and not self._closing else inf


def _share(templates: list, n: int) -> list[tuple[Any, int]]:
    """``n`` new workers spread over the templates in turn: [(template, count)]."""
    counts = [0] * len(templates)
    for i in range(n):
        counts[i % len(templates)] += 1
    return [(t, c) for t, c in zip(templates, counts) if c]


def _more(template: Any, n: int) -> list:
    """Unstarted launchers for ``n`` more workers like ``template``: one job of ``n`` for a
    batch array, ``n`` workers otherwise."""
    resubmit = getattr(template, "_resubmission", None)
    if resubmit is not None:
        return [resubmit(n)]
    return [template._replacement() for _ in range(n)]
