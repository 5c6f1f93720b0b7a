"""The workers the core knows, and the indexes that answer the scheduler's questions in O(1).

Rules of this file:

* Pure, like the rest of ``_core``: no I/O, clocks or threads.
* The indexes are derived from the workers' state by :meth:`Roster.reindex` alone (plus
  :meth:`Roster.remove` for a worker that goes, and ``took_one``/``emptied``, what reindex
  does in the lone round trip's two cases); :meth:`Roster.check` rebuilds them by a full
  scan and compares, and the tests run it after every step.
* The scheduler decides; the roster only keeps the records and answers "who is idle", "who has
  room", "whose head has run longest" without visiting every worker.

The indexes are insertion-ordered dicts used as sets (``OrderedDict`` where the first entry is
taken or an entry moves to the end). ``starting`` is in launch order and ``contact`` in order
of last contact, so each is also in deadline order: time never runs backwards in the core, and
one timeout applies to all. The steal heap holds ``(head_since, head, worker)``; an entry goes
stale when its worker's head moves on or it leaves, and is dropped or refreshed when it
reaches the top (O(log W) per push or pop).
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Optional

from .adapt import Load
from .events import (DRAINING, LIVE, STARTING, InternalError, KillReason, WorkerId,
                     WorkerState)


@dataclass(slots=True)
class Config:
    # Tasks in flight per worker, at most: more hides the round trip for short tasks, but what
    # waits behind a long task waits for nothing (stealing then has to undo it).
    window: int = 2
    queue_seconds: float = 0.002    # ... and no more than this much work queued behind the head
    # ... and no more than this while the worker's pace is not known yet: a wide window pays
    # only for tiny tasks (each wake-up of a worker runs more of them), and guessed wide for
    # long ones it would queue them behind each other until stealing undid it.
    first_window: int = 32
    max_attempts: int = 3           # deaths of a worker running the task before it fails
    max_tasks: Optional[int] = None  # tasks per worker before it is recycled
    replace: bool = False           # launch a replacement for every worker that goes away
    max_start_failures: int = 3     # consecutive failed starts before replacements stop
    heartbeat_timeout: float = 60.0
    connect_timeout: float = 60.0
    task_timeout: Optional[float] = None  # a worker's supervisor kills it past this (shell)
    # A head running this long lets idle workers take its queue: shorter moves work sooner
    # away from a slow task, but costs a REVOKE round trip that a quick task makes useless.
    steal_after: float = 0.05
    # The demand cap (demand.py): serve only as many workers as the results say are busy at
    # once, times demand_headroom, plus demand_margin; measured over demand_period seconds
    # of results. A larger margin serves more workers when tasks are tiny (more processes
    # woken, each colder); a longer period reacts later to a change of task size.
    demand_period: float = 0.05
    demand_headroom: float = 2.0
    demand_margin: int = 4

    @property
    def unpaced_window(self) -> int:
        """The window of a worker whose pace is not known yet."""
        return min(self.window, self.first_window)


@dataclass(slots=True)
class WorkerRecord:
    state: WorkerState
    since: float  # launch time while starting; last contact once live
    queue: deque = field(default_factory=deque)  # head is running, the rest wait
    sent: int = 0
    head_since: float = 0.0  # when the head task started, as far as we can tell
    head: int = 0            # bumped whenever head_since changes: stamps steal-heap entries
    slow_head: int = -1      # the `head` found too slow to queue more behind; -1: none
    in_heap: bool = False    # has an entry (maybe stale) in the steal heap
    pace: float = 0.0        # recent seconds per task on this worker (0: not known yet)
    win: int = 0             # window(config, this), kept by set_pace: read on every event
    revoking: bool = False
    stop_sent: bool = False
    joined: float = 0.0      # when it joined (adapt retires no worker younger than idle_after)
    retiring: bool = False   # RetireRequested: drains, and its loss is never charged
    succeeded: bool = False  # its successor is launched, or it must never have one


def window(cfg: Config, w: WorkerRecord) -> int:
    """Tasks to keep in flight on ``w``: enough to hide the round trip when its tasks are
    short, few when they are long (what waits behind a long task waits for nothing)."""
    if not w.pace:  # not known yet: a guess; stealing corrects a bad one
        return cfg.unpaced_window
    # min() before int(): a pace decayed to a denormal by results timed at the same
    # instant would make the quotient infinite, and int(inf) raises.
    fits = min(cfg.queue_seconds / w.pace, cfg.window)
    return max(min(cfg.window, 2), min(cfg.window, 1 + int(fits)))


class Roster:
    """Worker records by id, and the indexes over them. See the module docstring."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.workers: dict[WorkerId, WorkerRecord] = {}
        self.idle: OrderedDict[WorkerId, None] = OrderedDict()      # live, empty queue
        self.room: OrderedDict[WorkerId, None] = OrderedDict()      # live, busy, not full
        self.waiting: dict[WorkerId, None] = {}   # tasks queued behind the head: stealable
        self.starting: OrderedDict[WorkerId, None] = OrderedDict()  # by launch time
        self.contact: OrderedDict[WorkerId, None] = OrderedDict()   # by last contact
        self.active = 0    # workers starting or live: someone may yet run pending tasks
        self.steals: list[tuple[float, int, WorkerId]] = []  # (head_since, head, worker)

    def add(self, wid: WorkerId, w: WorkerRecord) -> None:
        if wid in self.workers:
            raise InternalError(f"worker {wid} launched twice")
        self.workers[wid] = w
        w.win = window(self.config, w)
        self.active += w.state != DRAINING
        self.reindex(wid)

    def remove(self, wid: WorkerId) -> Optional[WorkerRecord]:
        """Forget ``wid``; its record, or None if it was not known (already lost)."""
        w = self.workers.pop(wid, None)
        if w is None:
            return None
        for index in (self.idle, self.room, self.waiting, self.starting, self.contact):
            index.pop(wid, None)  # its steal-heap entry, if any, goes stale
        self.active -= w.state != DRAINING
        return w

    def touch(self, wid: WorkerId, now: float) -> Optional[WorkerRecord]:
        """A joined worker spoke at ``now`` (the latest time of all): None if not joined."""
        w = self.workers.get(wid)
        if w is None or w.state == STARTING:
            return None
        w.since = now
        self.contact.move_to_end(wid)
        return w

    def observe_pace(self, w: WorkerRecord, per: float) -> None:
        """``w`` ran tasks at ``per`` seconds each: its recent pace moves towards that, and
        its window with it."""
        w.pace = per if not w.pace else 0.7 * w.pace + 0.3 * per
        w.win = window(self.config, w)

    def set_state(self, wid: WorkerId, w: WorkerRecord, state: WorkerState) -> None:
        if w.state != DRAINING and state == DRAINING:
            self.active -= 1
        w.state = state
        self.reindex(wid)

    def reindex(self, wid: WorkerId) -> None:
        """Put ``wid`` in exactly the indexes its state says (the one place that does)."""
        w = self.workers[wid]
        n, live = len(w.queue), w.state == LIVE
        _member(self.idle, wid, live and n == 0)
        _member(self.room, wid, live and 0 < n < w.win and w.slow_head != w.head)
        _member(self.waiting, wid, n > 1)
        _member(self.starting, wid, w.state == STARTING)
        if w.state != STARTING and wid not in self.contact:
            self.contact[wid] = None  # just joined: the latest contact of all
        if n > 1 and not w.revoking and not w.in_heap:
            self._push_steal(wid, w)

    def took_one(self, wid: WorkerId, w: WorkerRecord) -> None:
        """``reindex`` for an idle live worker that was just sent one task: out of ``idle``,
        into ``room`` unless its window is one (nothing waits behind a lone head)."""
        del self.idle[wid]
        if w.win > 1:
            self.room[wid] = None  # its new head is not slow

    def emptied(self, wid: WorkerId) -> None:
        """``reindex`` for a live worker whose lone task just finished: idle, so out of
        ``room`` (which holds workers that have tasks)."""
        self.idle[wid] = None
        self.room.pop(wid, None)

    @property
    def busy(self) -> int:
        """Live workers holding tasks: O(1), for the demand cap."""
        return self.active - len(self.starting) - len(self.idle)

    def _push_steal(self, wid: WorkerId, w: WorkerRecord) -> None:
        if len(self.steals) > 2 * len(self.workers) + 64:  # entries of gone workers pile up
            self.steals[:] = [e for e in self.steals if e[2] in self.workers]
            heapq.heapify(self.steals)  # in place: steal_top may be looking at it
        w.in_heap = True
        heapq.heappush(self.steals, (w.head_since, w.head, wid))

    def steal_top(self) -> Optional[WorkerId]:
        """The victim whose head has run longest, cleaning stale entries off the heap.

        An entry records ``head_since`` when it was pushed; a head only moves later, so a
        stale entry sorts no later than the truth: it is refreshed when it reaches the top."""
        steals = self.steals
        while steals:
            since, head, wid = steals[0]
            w = self.workers.get(wid)
            if w is not None and w.head == head and not w.revoking and len(w.queue) > 1:
                return wid
            heapq.heappop(steals)
            if w is not None:
                w.in_heap = False
                if w.head != head:
                    self.reindex(wid)  # pushes it again, with its current head, if waiting
        return None

    def next_deadline(self, steal: bool = True) -> Optional[float]:
        """The first connect or heartbeat deadline, or (if ``steal``) the first steal while
        someone is idle."""
        cfg, times = self.config, []
        if self.starting:
            times.append(self.workers[next(iter(self.starting))].since + cfg.connect_timeout)
        if self.contact:
            times.append(self.workers[next(iter(self.contact))].since + cfg.heartbeat_timeout)
        if steal and self.idle and self.steal_top() is not None:  # someone could steal
            times.append(self.steal_since() + cfg.steal_after)
        return min(times, default=None)

    def overdue(self, now: float) -> Optional[tuple[WorkerId, KillReason]]:
        """The worker longest past its connect (first) or heartbeat deadline at ``now``, and
        which; None if none is: each index is in deadline order, so only its first counts."""
        cfg = self.config
        for index, timeout, reason in ((self.starting, cfg.connect_timeout, "connect"),
                                       (self.contact, cfg.heartbeat_timeout, "heartbeat")):
            if index:
                wid = next(iter(index))
                if now >= self.workers[wid].since + timeout:
                    return wid, reason
        return None

    def steal_since(self) -> float:
        """``head_since`` of the entry :meth:`steal_top` just returned."""
        return self.steals[0][0]

    def pop_steal(self) -> WorkerRecord:
        """Take the victim :meth:`steal_top` returned off the heap; it is being revoked."""
        _, _, wid = heapq.heappop(self.steals)
        w = self.workers[wid]
        w.in_heap, w.revoking = False, True
        return w

    # -- off the hot path: O(workers) ----------------------------------------------------
    def load(self, now: float, pending: int) -> Load:
        """What the adapt policy needs. Workers leaving (retiring, stopped) are not counted
        as capacity; their tasks are."""
        idle: dict[WorkerId, Optional[float]] = {}
        joined: dict[WorkerId, float] = {}
        starting = running = 0
        for wid, w in self.workers.items():
            running += len(w.queue)
            if w.state == STARTING:
                starting += 1
            elif not (w.retiring or w.stop_sent):
                # an empty queue has been empty since its last result (or since it joined)
                idle[wid] = None if w.queue else max(w.head_since, w.joined)
                joined[wid] = w.joined
        return Load(now, pending, running, starting, idle, joined)

    def expected_seconds(self, wid: WorkerId) -> float:
        """``wid``'s recent pace, else the mean of the others' (0.0 when nothing is known)."""
        w = self.workers.get(wid)
        if w is not None and w.pace:
            return w.pace
        paces = [o.pace for o in self.workers.values() if o.pace]
        return sum(paces) / len(paces) if paces else 0.0

    def check(self) -> None:
        """Rebuild every index by a full scan and compare (tests only).

        Raises ``InternalError`` naming the first index that disagrees."""
        ws, cfg = self.workers, self.config
        want = {
            "idle": [i for i, w in ws.items() if w.state == LIVE and not w.queue],
            "waiting": [i for i, w in ws.items() if len(w.queue) > 1],
            "starting": [i for i, w in ws.items() if w.state == STARTING],
            "contact": [i for i, w in ws.items() if w.state != STARTING],
            "room": [i for i, w in ws.items() if w.state == LIVE and w.slow_head != w.head
                     and 0 < len(w.queue) < window(cfg, w)],
        }
        stale = [i for i, w in ws.items() if w.win != window(cfg, w)]
        if stale:
            raise InternalError(f"windows of {stale} not their pace's")
        for name, ids in want.items():
            if set(ids) != set(getattr(self, name)):
                raise InternalError(f"index {name}: {sorted(getattr(self, name))}, "
                                    f"state says {sorted(ids)}")
        for name in ("starting", "contact"):  # in deadline order
            times = [ws[i].since for i in getattr(self, name)]
            if times != sorted(times):
                raise InternalError(f"index {name} out of deadline order: {times}")
        if self.active != sum(w.state != DRAINING for w in ws.values()):
            raise InternalError(f"{self.active} active workers counted")
        if self.busy != sum(w.state == LIVE and bool(w.queue) for w in ws.values()):
            raise InternalError(f"{self.busy} busy workers counted")
        stealable = [i for i in want["waiting"] if not ws[i].revoking]
        missing = [i for i in stealable if not ws[i].in_heap]
        if missing or any(ws[i].in_heap and i not in {e[2] for e in self.steals} for i in ws):
            raise InternalError(f"steal heap misses {missing}")


def _member(index: dict, key: WorkerId, present: bool) -> None:
    if present:
        index.setdefault(key, None)  # keeps its place if already there
    else:
        index.pop(key, None)
