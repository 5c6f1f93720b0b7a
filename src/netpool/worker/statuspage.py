"""The status page: shared memory in which the worker says whether it is in a task, and a
ticker proves it can still run Python; its supervisor reads it (supervisor.py)."""

from __future__ import annotations

import mmap
import struct
import time

_SLOT = struct.Struct("dd")  # (task started at, or 0 when idle; last tick of the ticker)


class StatusPage:
    """A page shared by supervisor and worker: is the worker in a task, and is it alive?

    The clock is ``time.monotonic`` (CLOCK_MONOTONIC), the same in both processes. Writes
    are two doubles; a torn read costs at most one misjudged check, never a wrong kill: a
    verdict needs the same answer over the whole timeout.
    """

    def __init__(self, tick_every: float) -> None:
        self._map = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared across fork
        self.enabled = True
        self.tick_every = tick_every  # the worker's ticker's step (supervisor.tick_seconds)

    def begin(self, now: float) -> None:  # now: time.monotonic(), the caller's reading
        if self.enabled:
            _SLOT.pack_into(self._map, 0, now, now)

    def end(self, now: float) -> None:
        if self.enabled:
            _SLOT.pack_into(self._map, 0, 0.0, now)

    def tick(self) -> None:
        if self.enabled:
            started, _ = _SLOT.unpack_from(self._map, 0)
            _SLOT.pack_into(self._map, 0, started, time.monotonic())

    def read(self) -> tuple[float, float]:
        return _SLOT.unpack_from(self._map, 0)
