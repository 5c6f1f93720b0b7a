"""The scheduling core: every decision about which task runs where, and nothing else.

Rules of this file:

* ``Scheduler.handle(event) -> list[command]`` is the only way state changes.
* No I/O, threads, clocks, pickling or logging: time arrives as ``now`` inside events, and the
  scheduler sees only ids (``TaskId``, ``WorkerId``). Payloads stay in the shell.
* Events are facts (past tense); commands are decisions (imperative), both in ``events.py``.
  The shell must carry out every command it is given, in order.
* Each event costs O(1) amortised in the number of workers and tasks (O(log W) where the
  steal heap is touched): the hot path reads the indexes of ``roster.py``, never scans every
  worker. ``check_indexes`` (run by the tests after every step) rebuilds them and compares.

Life of a task: *pending* (in ``_pending``) -> *running* (in some worker's ``queue``, as one
*attempt*) -> *done* (forgotten). A worker runs its queue first-in first-out, one task at a
time, so the head of the queue is executing and the rest wait there to hide the round trip.
When a worker is lost, its whole queue goes back to the front of ``_pending``; only the head is
charged, because only the head was running. A graceful exit charges nothing.

Which workers get tasks: every idle one, one task each so that work spreads, unless the
demand cap (``demand.py``) says fewer are needed at once (tiny tasks, many workers): then only
that many hold tasks and the rest stay idle. Then the windows of those holding tasks fill.

Life of a worker: *starting* (launched, not yet connected) -> *live* -> *draining* (no new work:
it reached ``max_tasks`` or the scheduler is closing) -> gone. A starting worker that does not join
within ``connect_timeout`` is a start failure; a live one silent for ``heartbeat_timeout`` is lost.

Time never runs backwards in here: ``now`` is the latest time any event carried, so the order
in which workers were last heard from is also the order of their heartbeat deadlines.
"""

from __future__ import annotations

from collections import deque
from math import inf
from typing import Callable, Optional

from .demand import Demand
from .events import (DRAINING, LIVE, STARTING, Attempt, Closing, Command, Configured, Event,
                     FailTask, HeartbeatArrived, InternalError, KillReason, KillWorker,
                     LaunchReplacement, NoWorkers, ReplacementDue, Resolve, ResultsArrived,
                     RetireRequested, Revoked, RevokeTasks, SendTasks, StopWorker, TaskId,
                     TasksSubmitted, TasksWithdrawn, Tick, WorkerId, WorkerJoined,
                     WorkerLaunched, WorkerLost, WorkerState)
from .lone import LonePaths
from .roster import Config, Roster, WorkerRecord
from .views import Views

__all__ = ["Scheduler", "Config", "Attempt", "Command", "Event", "InternalError", "TaskId",
           "WorkerId", "WorkerState", "KillReason", "STARTING", "LIVE", "DRAINING",
           "TasksSubmitted", "TasksWithdrawn", "WorkerLaunched", "WorkerJoined",
           "ResultsArrived", "Revoked", "HeartbeatArrived", "WorkerLost", "Tick",
           "ReplacementDue", "RetireRequested", "Closing",
           "Configured", "SendTasks", "Resolve", "RevokeTasks", "StopWorker", "KillWorker",
           "LaunchReplacement", "FailTask", "NoWorkers"]


class Scheduler(LonePaths, Views):
    """Pure task-farm scheduler. See the module docstring for its rules; ``submit_one`` and
    ``result_one`` (lone.py) stand in for ``handle`` in the lone round trip; views.py holds
    what the shell may read.

    ``handle`` raises ``InternalError`` for an event that breaks the core's contract."""

    def __init__(self, config: Optional[Config] = None) -> None:
        self.config = config or Config()
        # The roster's dicts are aliased here: the hot path reads them without a hop.
        self._roster = r = Roster(self.config)
        self._workers, self._idle, self._room, self._waiting = r.workers, r.idle, r.room, r.waiting
        self._pending: deque[TaskId] = deque()
        self._where: dict[TaskId, tuple[WorkerId, int]] = {}  # running tasks: worker, attempt
        self._attempts = 0  # attempt numbers handed out so far
        self._killers: dict[TaskId, list[WorkerId]] = {}
        self._start_failures = 0
        self._ever_joined = False
        self._closing = False
        self._now = 0.0
        self._starved = False  # NoWorkers already said for the current pending tasks
        cfg = self.config
        self._demand = Demand(cfg.demand_period, cfg.demand_headroom, cfg.demand_margin)

    # -- the one entry point -----------------------------------------------------------
    def handle(self, event: Event) -> list[Command]:
        handler = self._HANDLERS.get(type(event))
        if handler is None:
            raise InternalError(f"the scheduler does not know the event {event!r}")
        out: list[Command] = []
        handler(self, event, out)
        self._dispatch(out)
        return out

    # -- event handlers ----------------------------------------------------------------
    def _on_submitted(self, ev: TasksSubmitted, out: list) -> None:
        self._pending.extend(ev.tasks)
        self._starved = False

    def _on_withdrawn(self, ev: TasksWithdrawn, out: list) -> None:
        gone = set(ev.tasks)  # O(pending), but only after NoWorkers or on terminate
        self._pending = deque(t for t in self._pending if t not in gone)
        for t in gone:
            self._killers.pop(t, None)

    def _on_launched(self, ev: WorkerLaunched, out: list) -> None:
        self._roster.add(ev.worker, WorkerRecord(STARTING, self._clock(ev.now)))
        self._starved = False

    def _on_joined(self, ev: WorkerJoined, out: list) -> None:
        if ev.worker not in self._workers:  # joined by itself (`netpool worker HOST:PORT`)
            self._on_launched(WorkerLaunched(ev.worker, ev.now), out)
        w = self._workers[ev.worker]
        if w.state != STARTING:
            return
        w.state, w.since = LIVE, self._clock(ev.now)
        w.joined = w.since
        self._roster.reindex(ev.worker)
        self._start_failures = 0
        self._ever_joined = True
        self._starved = False

    def _on_results(self, ev: ResultsArrived, out: list) -> None:
        w = self._heard_from(ev.worker, ev.now)
        if w is None:
            return  # a late result from a worker already declared lost: stale
        began, done = w.head_since, 0
        for t, n in ev.attempts:
            if self._where.get(t) != (ev.worker, n):
                continue  # stale, stray or duplicate
            w.queue.remove(t)  # O(window): nearly always the head
            del self._where[t]
            self._killers.pop(t, None)
            out.append(Resolve(t, ev.worker, n))
            self._new_head(w)
            done += 1
        if done:  # seconds per task: the worker's own count, else our clock's (see events)
            per = (max(self._now - began, 0.0) / done if ev.busy is None
                   else ev.busy / len(ev.attempts))
            self._roster.observe_pace(w, per)
            self._demand.observe(self._now, per * done)
        self._roster.reindex(ev.worker)
        self._maybe_retire(ev.worker, w, out)

    def _on_revoked(self, ev: Revoked, out: list) -> None:
        w = self._heard_from(ev.worker, ev.now)
        if w is None:
            return
        w.revoking = False
        head, back = w.queue[0] if w.queue else None, []
        for t, n in ev.attempts:
            if self._where.get(t) == (ev.worker, n):  # once only, even if named twice
                w.queue.remove(t)
                del self._where[t]
                back.append(t)
        if w.queue and w.queue[0] != head:  # only a confused peer gives back its head
            self._new_head(w)
        self._pending.extendleft(reversed(back))
        self._starved = self._starved and not back  # new pending tasks: tell again
        self._roster.reindex(ev.worker)
        self._maybe_retire(ev.worker, w, out)

    def _on_heartbeat(self, ev: HeartbeatArrived, out: list) -> None:
        self._heard_from(ev.worker, ev.now)

    def _on_lost(self, ev: WorkerLost, out: list) -> None:
        self._lose(ev.worker, ev.graceful, out)

    def _on_tick(self, ev: Tick, out: list) -> None:
        now = self._clock(ev.now)
        while (due := self._roster.overdue(now)) is not None:
            out.append(KillWorker(*due))
            self._lose(due[0], False, out)

    def _on_replacement_due(self, ev: ReplacementDue, out: list) -> None:
        w = self._workers.get(ev.worker)
        if w is not None and w.state != STARTING and not w.succeeded and self._may_launch():
            w.succeeded = True
            out.append(LaunchReplacement(ev.worker))

    def _on_retire_requested(self, ev: RetireRequested, out: list) -> None:
        w = self._workers.get(ev.worker)
        if w is None or w.state == STARTING or w.retiring:
            return
        if ev.replace:
            self._on_replacement_due(ReplacementDue(ev.worker), out)
        w.retiring = w.succeeded = True
        if len(w.queue) > 1 and not w.revoking:  # what it has not started goes elsewhere
            w.revoking = True
            out.append(RevokeTasks(ev.worker, tuple((t, self._where[t][1])
                                                    for t in list(w.queue)[1:])))
        self._roster.set_state(ev.worker, w, DRAINING)
        self._maybe_retire(ev.worker, w, out)

    def _on_closing(self, ev: Closing, out: list) -> None:
        self._closing = True  # _dispatch stops whom it can

    def _on_configured(self, ev: Configured, out: list) -> None:
        # One timeout for all: the indexes' order (by launch, by last contact) still holds.
        self.config.heartbeat_timeout = ev.heartbeat_timeout
        self.config.connect_timeout = ev.connect_timeout

    _HANDLERS: dict[type, Callable[["Scheduler", object, list], None]] = {
        TasksSubmitted: _on_submitted, TasksWithdrawn: _on_withdrawn,
        WorkerLaunched: _on_launched, WorkerJoined: _on_joined, ResultsArrived: _on_results,
        Revoked: _on_revoked, HeartbeatArrived: _on_heartbeat, WorkerLost: _on_lost,
        Tick: _on_tick, ReplacementDue: _on_replacement_due,
        RetireRequested: _on_retire_requested, Closing: _on_closing,
        Configured: _on_configured,
    }

    # -- helpers -----------------------------------------------------------------------
    def _clock(self, now: float) -> float:
        self._now = max(self._now, now)
        return self._now

    def _heard_from(self, wid: WorkerId, now: float) -> Optional[WorkerRecord]:
        """A joined worker spoke: it is alive now. None if it is not (or no longer) joined."""
        return self._roster.touch(wid, self._clock(now))

    def _new_head(self, w: WorkerRecord) -> None:
        w.head_since = self._now
        w.head += 1

    def _lose(self, wid: WorkerId, graceful: bool, out: list) -> None:
        w = self._roster.remove(wid)
        if w is None:
            return  # already lost (e.g. killed for silence, then its socket closed)
        if w.state == STARTING:
            self._start_failures += 1
        graceful = graceful or w.retiring  # e.g. cut off at its walltime while finishing
        if w.queue:
            head = w.queue[0]
            if not graceful:
                self._killers.setdefault(head, []).append(wid)
            back = []
            for t in w.queue:
                del self._where[t]
                killers = self._killers.get(t, ())
                if len(killers) >= self.config.max_attempts:
                    del self._killers[t]
                    out.append(FailTask(t, tuple(killers)))
                else:
                    back.append(t)
            self._pending.extendleft(reversed(back))
            self._starved = self._starved and not back  # new pending tasks: tell again
        if self._may_launch(w):
            out.append(LaunchReplacement(wid))

    def _may_launch(self, lost: Optional[WorkerRecord] = None) -> bool:
        """Does the loss of ``lost`` (or of any worker, if None) bring a replacement?

        Before ``Closing``: always, if configured to replace and starts are not failing.
        After it, only while there is work a new worker could take (pending, or waiting behind
        a head), and never for a worker the close itself stopped: that one was stopped because
        there was no such work, so a replacement would only be stopped in turn. A worker that
        *crashes* during the close does bring one if its tasks went back to pending, so that
        they are not stranded (docs/architecture.md, "Closing").
        """
        cfg = self.config
        if not cfg.replace or self._start_failures >= cfg.max_start_failures:
            return False
        if lost is not None and lost.succeeded:
            return False  # its successor was launched before it went, or it must have none
        if not self._closing:
            return True
        if lost is not None and lost.stop_sent and not self._used_up(lost):
            return False
        return bool(self._pending) or bool(self._waiting)

    def _used_up(self, w: WorkerRecord) -> bool:
        limit = self.config.max_tasks
        return limit is not None and w.sent >= limit

    def _maybe_retire(self, wid: WorkerId, w: WorkerRecord, out: list) -> None:
        """Stop a worker that has no more to do: it used up max_tasks, or we are closing and
        no task is pending or waiting behind a head (it could still steal those)."""
        if w.state == STARTING or w.queue or w.stop_sent:
            return
        if (self._used_up(w) or w.retiring
                or (self._closing and not self._pending and not self._waiting)):
            w.stop_sent = True
            self._roster.set_state(wid, w, DRAINING)
            out.append(StopWorker(wid))

    def _cap(self) -> Optional[int]:
        """The demand cap (demand.py) if one holds and is below the live workers; else None
        (no cap, or one that changes nothing, not even who is served first)."""
        cap = self._demand.cap_at(self._now)
        if cap is None or cap >= self._roster.active - len(self._roster.starting):
            return None
        return cap

    def _idle_room(self) -> Optional[int]:
        """How many idle workers may be given tasks now: None for all of them, else what the
        cap leaves beside the workers holding tasks."""
        cap = self._cap()
        return None if cap is None else max(cap - self._roster.busy, 0)

    def _next_idle(self, capped: bool) -> WorkerId:
        """The idle worker to serve first: the longest idle, so work spreads; under the cap
        the latest, which has just emptied its queue and is the warmest."""
        return next(reversed(self._idle)) if capped else next(iter(self._idle))

    def _dispatch(self, out: list) -> None:
        if self._pending:
            self._assign(out)
        if not self._pending:
            if self._idle and self._idle_room() != 0:  # capped out: nobody may take them
                self._steal(out)
        elif not self._starved and not self._roster.active and not self._may_launch():
            self._starved = True
            out.append(NoWorkers(tuple(self._pending), self._ever_joined))
        if self._closing and not self._pending and not self._waiting:
            while self._idle:
                wid = next(iter(self._idle))
                self._maybe_retire(wid, self._workers[wid], out)

    def _assign(self, out: list) -> None:
        """First one task to each idle worker the demand cap allows, so that work spreads;
        then fill the windows of the workers holding tasks, except behind a head that has
        run long enough to be worth stealing from, and except while more workers hold tasks
        than the cap allows (those drain, and the cap is met as they go idle). A worker that
        drains (max_tasks) changes the cap and what it leaves: then serve the idle again, so
        that what this leaves is what the next event (a Tick) would decide too."""
        cfg, pending, batches, roster = self.config, self._pending, {}, self._roster
        slow = self._now - cfg.steal_after
        while True:
            drained, cap = False, self._cap()
            # While workers are still starting, one whose pace is not known takes no more
            # than its share of what is pending, counting those: the first to join would
            # otherwise queue a whole short map in its guessed window, behind heads too
            # quick to be stolen from, and the others would join to find nothing left.
            share = -(-len(pending) // roster.active) if roster.starting else inf
            for index, fill in ((self._idle, 1), (self._room, cfg.window)):
                while pending and index:
                    if index is self._idle:
                        if cap is not None and roster.busy >= cap:
                            break
                        wid = self._next_idle(cap is not None)
                        w = self._workers[wid]
                    else:
                        wid = next(iter(index))
                        w = self._workers[wid]
                        if w.head_since <= slow or (cap is not None and roster.busy > cap):
                            w.slow_head = w.head  # out of _room until its head moves on
                            roster.reindex(wid)
                            continue
                    room = min(fill, w.win) - len(w.queue)
                    if room > share and not w.pace and index is self._room:
                        # out of _room until its head moves on, its pace known by then
                        room, w.slow_head = share, w.head
                    if cfg.max_tasks is not None:
                        room = min(room, cfg.max_tasks - w.sent)
                    sent = batches.setdefault(wid, [])
                    while room > 0 and pending:
                        self._send(wid, w, pending.popleft(), sent)
                        room -= 1
                    if self._used_up(w):
                        roster.set_state(wid, w, DRAINING)  # StopWorker once it is empty
                        drained, cap = True, self._cap()  # it no longer counts: the cap moves
                    else:
                        roster.reindex(wid)  # idle no more / full: out of this index
                    if pending and wid in index:
                        raise InternalError(f"worker {wid} took no task from {index}")
            if not (drained and pending and self._idle):
                break  # else a drain freed places: each round drains a worker, so it ends
        for wid, sent in batches.items():
            if sent:
                out.append(SendTasks(wid, tuple(sent)))

    def _send(self, wid: WorkerId, w: WorkerRecord, t: TaskId, sent: list) -> None:
        if not w.queue:
            self._new_head(w)
        w.queue.append(t)
        w.sent += 1
        self._attempts += 1
        self._where[t] = (wid, self._attempts)
        sent.append((t, self._attempts))

    def _steal(self, out: list) -> None:
        """An idle worker and nothing pending: take waiting tasks from behind slow heads."""
        now, after = self._now, self.config.steal_after
        # `since + after <= now`, the sum next_deadline reports: `since <= now - after` can
        # differ in the last bit, and a shell woken at the deadline would find nothing due.
        roster = self._roster
        while (wid := roster.steal_top()) is not None and roster.steal_since() + after <= now:
            w = roster.pop_steal()
            out.append(RevokeTasks(wid, tuple((t, self._where[t][1])
                                              for t in list(w.queue)[1:])))

    # -- for tests ---------------------------------------------------------------------
    def check_indexes(self) -> None:
        """Rebuild every index by a full scan and compare (O(workers): tests only).

        Raises ``InternalError`` naming the first index that disagrees."""
        self._roster.check()
