"""What a run report's timeline needs, recorded cheaply: task bars, worker events, throughput.

``Timeline`` is fed by ``Commands`` (tasks sent and resolved, workers launched, stopped or
lost, failures) and by ``Reading`` (a worker joined), on whichever thread holds the runtime's
lock; it is off (``Commands.timeline is None``) unless a report or a dashboard asked for it
(``Timelined.record_timeline``). Every record is O(1) and memory is capped, so that a long
run cannot grow it without bound (docs/observability.md, "Memory"):

* the first ``MAX_BARS`` tasks are one bar each; after that a task extends its worker's last
  bar (the bar counts the tasks it holds), and a task on a worker with no bar yet is counted
  in ``unplotted`` only;
* the first ``MAX_EVENTS`` worker events are kept, later ones counted in ``events_dropped``;
* throughput is kept in at most ``MAX_BUCKETS`` buckets, whose width doubles as the run
  grows;
* up to ``MAX_EXAMPLES`` example tracebacks per failure cause, for up to ``MAX_CAUSES`` causes.

A task's bar starts when it was sent to an idle worker, or when the previous result of that
worker arrived, and ends when its result arrived: what the manager can tell (a worker runs
its window's tasks one after the other). A task that by that measure took less than
``MERGE_BELOW`` (results that arrive together, tiny tasks) is added to its worker's last
bar instead of getting one of its own: it would be invisible, and memory is spared.
"""

from __future__ import annotations

import io
import pickle
import time
from typing import Any, Optional

MAX_BARS = 10_000
MAX_EVENTS = 2_000
MAX_BUCKETS = 240
MAX_EXAMPLES = 3
MAX_CAUSES = 20
MAX_TRACEBACK = 8_000  # characters of one example traceback
MERGE_BELOW = 0.001    # a task seen to take less (seconds) joins its worker's last bar

OK, FAILED, LOST = 0, 1, 2  # how a bar ended: the last of its tasks returned, raised, or its
                            # worker was lost while running it


class _Plain(pickle.Unpickler):
    """Reads plain data only: the exception inside a RAISED payload is never rebuilt here."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"not plain data: {module}.{name}")


def raised_text(payload: Any) -> tuple[str, str]:
    """(type name, traceback text) of a RAISED payload, read as plain data (protocol.md)."""
    try:
        _, _, text, name = _Plain(io.BytesIO(payload)).load()
    except Exception:  # not the shape protocol.md gives; stats() counts it as "unknown"
        return "unknown", ""
    if not isinstance(name, str):
        name = "unknown"
    name = name[len("builtins."):] if name.startswith("builtins.") else name
    if isinstance(text, (list, tuple)):
        text = "".join(str(t) for t in text)
    return name, str(text)[-MAX_TRACEBACK:]


class Timeline:
    """The recorder. Snapshots give times as seconds since ``t0`` (the manager's monotonic
    clock at its creation)."""

    def __init__(self, now: float) -> None:
        self.t0 = now
        self.wall0 = time.time()
        self.bars: list[list] = []          # [worker, start, end, tasks, failed, how]
        #                                     (start, end: monotonic; snapshots subtract t0)
        self._last: dict[int, list] = {}    # worker -> its last bar, to extend past the cap
        self._cursor: dict[int, float] = {}  # worker -> when its next task starts
        self.unplotted = 0
        self.events: list[tuple] = []       # (time, worker, kind, text)
        self.events_dropped = 0
        self.lanes: dict[int, str] = {}     # worker -> its label, once known
        self.width = 0.25                   # seconds per throughput bucket
        self.ok: list[int] = []             # results per bucket
        self.bad: list[int] = []            # failures per bucket
        self.examples: dict[str, list] = {}  # cause -> [{worker, task, text}]
        self.decoded = 0                    # failure payloads read for examples
        self.last = now                     # when a worker event was last recorded
        self._edge = now                    # where the last throughput bucket ends

    # -- tasks ---------------------------------------------------------------------
    def sent(self, worker: int, idle: bool, now: float) -> None:
        """Tasks went to ``worker``; ``idle``: it had none before, so the first starts now."""
        if idle:
            self._cursor[worker] = now

    def resolved(self, worker: int, ok: bool, now: float) -> None:
        # The hot path, once per task: the common cases of _bar and _count inlined.
        cursor = self._cursor
        start = cursor.get(worker, now)
        cursor[worker] = now
        last = self._last.get(worker)
        # A task seen to end within MERGE_BELOW of its worker's last bar (a batch of results)
        # joins that bar. Its start is at or after that bar's end, so no idle gap is hidden.
        if last is not None and now - last[2] < MERGE_BELOW:
            last[2] = now
            last[3] += 1
            if not ok:
                last[4] += 1
                last[5] = max(last[5], FAILED)
        else:
            self._bar(worker, start, now, OK if ok else FAILED)
        if now < self._edge:  # in the current throughput bucket
            (self.ok if ok else self.bad)[-1] += 1
        else:
            self._count(now, ok)

    def _bar(self, worker: int, start: float, now: float, how: int) -> None:
        last = self._last.get(worker)
        if len(self.bars) < MAX_BARS:
            bar = [worker, start, now, 1, int(how == FAILED), how]
            self.bars.append(bar)
            self._last[worker] = bar
        elif last is not None:
            last[2] = now
            last[3] += 1
            last[4] += how == FAILED
            last[5] = max(last[5], how)
        else:
            self.unplotted += 1

    def _count(self, now: float, ok: bool) -> None:
        self.last = max(self.last, now)
        i = int((now - self.t0) / self.width)
        while i >= MAX_BUCKETS:  # coarsen: pairs of buckets become one, twice as wide
            self.ok = [sum(self.ok[j:j + 2]) for j in range(0, len(self.ok), 2)]
            self.bad = [sum(self.bad[j:j + 2]) for j in range(0, len(self.bad), 2)]
            self.width *= 2
            i = int((now - self.t0) / self.width)
        if i >= len(self.ok):
            grow = i + 1 - len(self.ok)
            self.ok += [0] * grow
            self.bad += [0] * grow
        (self.ok if ok else self.bad)[i] += 1
        self._edge = self.t0 + len(self.ok) * self.width  # the fast path: the last bucket

    # -- failures ------------------------------------------------------------------
    def raised(self, label: str, task: int, payload: Any) -> None:
        """A task raised on a worker: keep its traceback if its cause has few examples yet."""
        if self.decoded >= MAX_CAUSES * MAX_EXAMPLES * 4:
            return  # enough read: later failures are counted by stats() only
        self.decoded += 1
        name, text = raised_text(payload)
        self._example(f"raised: {name}", label, task, text)

    def failed_here(self, cause: str, task: int, text: str) -> None:
        """The manager failed a task (poison, no workers, terminated)."""
        self._example(cause, None, task, text[-MAX_TRACEBACK:])

    def _example(self, cause: str, label: Optional[str], task: int, text: str) -> None:
        got = self.examples.get(cause)
        if got is None:
            if len(self.examples) >= MAX_CAUSES:
                return
            got = self.examples[cause] = []
        if len(got) < MAX_EXAMPLES:
            got.append({"worker": label, "task": task, "text": text})

    # -- workers -------------------------------------------------------------------
    def event(self, worker: int, kind: str, text: str, now: float,
              label: Optional[str] = None) -> None:
        """``kind``: launched, joined, stopped, died, start failed, replacement."""
        self.last = max(self.last, now)
        if label is not None:
            self.lanes[worker] = label
        if len(self.events) < MAX_EVENTS:
            self.events.append((now - self.t0, worker, kind, text))
        else:
            self.events_dropped += 1

    def left(self, worker: int, graceful: bool, running: bool, now: float) -> None:
        """It left the worker table; ``running``: with tasks on it, which end with it (a
        bar of their own unless ``graceful``). Its death, if it died, is an ``event``."""
        start = self._cursor.pop(worker, None)
        if running and not graceful and start is not None:
            self._bar(worker, start, now, LOST)
        self._last.pop(worker, None)

    # -- reading -------------------------------------------------------------------
    def ended(self) -> float:
        """When anything was last recorded (a result, a send, a worker event)."""
        return max(self.last, max(self._cursor.values(), default=self.last))

    def copy(self, now: float) -> dict:
        """What ``snapshot`` needs, copied (the short part, under the runtime's lock)."""
        return {
            "started": self.wall0, "elapsed": now - self.t0, "t0": self.t0,
            "bars": [b[:] for b in self.bars],
            "unplotted": self.unplotted, "max_bars": MAX_BARS,
            "events": list(self.events), "events_dropped": self.events_dropped,
            "lanes": {str(w): label for w, label in self.lanes.items()},
            "bucket": self.width, "ok": list(self.ok), "bad": list(self.bad),
            "examples": {c: list(e) for c, e in self.examples.items()},
        }

    def snapshot(self, now: float) -> dict:
        """Plain values: what ``report.render`` draws (times rounded to milliseconds)."""
        return plain(self.copy(now))


def plain(raw: dict) -> dict:
    """A ``copy`` made plain (times rounded to milliseconds): no lock needed."""
    r = lambda t: round(t, 3)  # noqa: E731
    t0 = raw.pop("t0")
    raw["elapsed"] = r(raw["elapsed"])
    raw["bars"] = [[b[0], r(b[1] - t0), r(b[2] - t0), b[3], b[4], b[5]] for b in raw["bars"]]
    raw["events"] = [[r(t), w, k, x] for t, w, k, x in raw["events"]]
    return raw


class Timelined:
    """A mixin of ``Runtime``: turning the recorder on, and reading it (any thread)."""

    def record_timeline(self) -> None:
        """Start recording (idempotent); from now on ``timeline()`` has data."""
        with self._lock:  # type: ignore[attr-defined]
            if self._cmds.timeline is None:  # type: ignore[attr-defined]
                self._cmds.timeline = Timeline(time.monotonic())  # type: ignore[attr-defined]

    def timeline(self) -> Optional[dict]:
        """``Timeline.snapshot`` under the lock; None when not recording. Not from inside a
        round (it would wait for its own lock)."""
        with self._lock:  # type: ignore[attr-defined]
            tl = self._cmds.timeline  # type: ignore[attr-defined]
            if tl is None:
                return None
            # A run that has ended lasted until its last record, not until we looked.
            raw = tl.copy(time.monotonic() if self.alive else tl.ended())  # type: ignore
        return plain(raw)  # outside the lock: the loop waits for the copy only
