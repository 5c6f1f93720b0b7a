"""The scheduling core: every decision about which task runs where, and nothing else.

Rules of this file:

* ``Scheduler.handle(event) -> list[command]`` is the only way state changes.
* No I/O, threads, clocks, pickling or logging: time arrives as ``now`` inside events, and the
  scheduler sees only ids (``TaskId``, ``WorkerId``). Payloads stay in the shell.
* Events are facts (past tense); commands are decisions (imperative). The shell must carry out
  every command it is given, in order.

Life of a task: *pending* (in ``_pending``) -> *running* (in some live worker's ``queue``) ->
*done* (forgotten). A worker runs its queue first-in first-out, one task at a time, so the head
of the queue is the one executing and the rest are waiting there to hide the network round trip.
When a worker is lost, its whole queue goes back to the front of ``_pending``; only the head is
charged an attempt, because only the head was running. A graceful exit charges nothing.

Life of a worker: *starting* (launched, not yet connected) -> *live* -> *draining* (no new work:
it reached ``max_tasks`` or the scheduler is closing) -> gone. A starting worker that does not join
within ``connect_timeout`` is a start failure; a live one silent for ``heartbeat_timeout`` is lost.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Optional, Union

from .adapt import Load

TaskId = int
WorkerId = int
#: One sending of a task: ``(task, n)``, where ``n`` is unique to that send (a counter of every
#: send this scheduler made). A result or revocation counts only if it names the attempt
#: that is current on the worker that sends it: so a duplicate, a stray, a late result for an
#: attempt since revoked or requeued, or one from a process that copied the worker's queue
#: by forking, can never resolve a task, even one that went back to the same worker.
Attempt = tuple[TaskId, int]

# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class TasksSubmitted:
    tasks: tuple[TaskId, ...]


@dataclass(frozen=True, slots=True)
class TasksWithdrawn:
    """The shell takes back pending tasks (after ``NoWorkers``, or on terminate)."""

    tasks: tuple[TaskId, ...]


@dataclass(frozen=True, slots=True)
class WorkerLaunched:
    worker: WorkerId
    now: float


@dataclass(frozen=True, slots=True)
class WorkerJoined:
    worker: WorkerId
    now: float


@dataclass(frozen=True, slots=True)
class ResultsArrived:
    """Results for these attempts came from the worker (any may be stale or repeated)."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]
    now: float


@dataclass(frozen=True, slots=True)
class Revoked:
    """The worker took these attempts out of its queue before starting them."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]
    now: float


@dataclass(frozen=True, slots=True)
class HeartbeatArrived:
    worker: WorkerId
    now: float


@dataclass(frozen=True, slots=True)
class WorkerLost:
    worker: WorkerId
    graceful: bool = False


@dataclass(frozen=True, slots=True)
class Tick:
    now: float


@dataclass(frozen=True, slots=True)
class ReplacementDue:
    """The worker's batch job ends soon: launch its successor now (it keeps working)."""

    worker: WorkerId


@dataclass(frozen=True, slots=True)
class RetireRequested:
    """The worker is to take no more tasks, give back those it has not started, finish its
    running one and exit: its job nears its walltime, or adapt shrinks the pool. With
    ``replace`` it gets a successor now (if it has none yet); without, it never gets one."""

    worker: WorkerId
    replace: bool = False


@dataclass(frozen=True, slots=True)
class Closing:
    """No more tasks will come: stop workers once everything is done."""


@dataclass(frozen=True, slots=True)
class Configured:
    heartbeat_timeout: float
    connect_timeout: float


Event = Union[TasksSubmitted, TasksWithdrawn, WorkerLaunched, WorkerJoined, ResultsArrived,
              Revoked, HeartbeatArrived, WorkerLost, Tick, ReplacementDue, RetireRequested,
              Closing, Configured]

# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class SendTasks:
    """Send these tasks to the worker, each tagged with its attempt number."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class Resolve:
    """Accept this worker's result for the task's current attempt; the task is done."""

    task: TaskId
    worker: WorkerId
    attempt: int


@dataclass(frozen=True, slots=True)
class RevokeTasks:
    """Ask the worker to give back these attempts if it has not started them."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class StopWorker:
    """Ask a worker with an empty queue to exit cleanly."""

    worker: WorkerId


@dataclass(frozen=True, slots=True)
class KillWorker:
    worker: WorkerId
    reason: str  # "heartbeat" or "connect"


@dataclass(frozen=True, slots=True)
class LaunchReplacement:
    worker: WorkerId  # the worker that went away


@dataclass(frozen=True, slots=True)
class FailTask:
    """The task was running on ``killers`` when each of them died: give up on it."""

    task: TaskId
    killers: tuple[WorkerId, ...]


@dataclass(frozen=True, slots=True)
class NoWorkers:
    """Tasks are pending but no worker is live or starting, and none will be launched."""

    pending: tuple[TaskId, ...]
    ever_joined: bool


Command = Union[SendTasks, Resolve, RevokeTasks, StopWorker, KillWorker, LaunchReplacement,
                FailTask, NoWorkers]

# ----------------------------------------------------------------------------- state

STARTING, LIVE, DRAINING = "starting", "live", "draining"


@dataclass(slots=True)
class _Worker:
    state: str
    since: float  # launch time while starting; last contact once live
    queue: deque = field(default_factory=deque)  # head is running, the rest wait
    sent: int = 0
    head_since: float = 0.0  # when the head task started, as far as we can tell
    pace: float = 0.0        # recent seconds per task on this worker (0: not known yet)
    revoking: bool = False
    stop_sent: bool = False
    joined: float = 0.0      # when it joined (adapt retires no worker younger than idle_after)
    retiring: bool = False   # RetireRequested: drains, and its loss is never charged
    succeeded: bool = False  # its successor is launched, or it must never have one


@dataclass(slots=True)
class Config:
    window: int = 2                 # tasks in flight per worker, at most
    queue_seconds: float = 0.002    # ... and no more than this much work queued behind the head
    max_attempts: int = 3           # deaths of a worker running the task before it fails
    max_tasks: Optional[int] = None  # tasks per worker before it is recycled
    replace: bool = False           # launch a replacement for every worker that goes away
    max_start_failures: int = 3     # consecutive failed starts before replacements stop
    heartbeat_timeout: float = 60.0
    connect_timeout: float = 60.0
    steal_after: float = 0.05       # a head running this long lets idle workers take its queue


class Scheduler:
    """Pure task-farm scheduler. See the module docstring for its rules."""

    def __init__(self, config: Optional[Config] = None) -> None:
        self.config = config or Config()
        self._workers: dict[WorkerId, _Worker] = {}
        self._pending: deque[TaskId] = deque()
        self._where: dict[TaskId, tuple[WorkerId, int]] = {}  # running tasks: worker, attempt
        self._attempts = 0  # attempt numbers handed out so far
        self._killers: dict[TaskId, list[WorkerId]] = {}
        self._start_failures = 0
        self._ever_joined = False
        self._closing = False
        self._now = 0.0
        self._starved = False  # NoWorkers already said for the current pending tasks

    # -- read-only views, for the shell and for tests ------------------------------------
    @property
    def pending(self) -> tuple[TaskId, ...]:
        return tuple(self._pending)

    def running_on(self, worker: WorkerId) -> tuple[TaskId, ...]:
        w = self._workers.get(worker)
        return tuple(w.queue) if w else ()

    def worker_state(self, worker: WorkerId) -> Optional[str]:
        w = self._workers.get(worker)
        return w.state if w else None

    @property
    def workers(self) -> dict[WorkerId, str]:
        return {wid: w.state for wid, w in self._workers.items()}

    def worker_times(self, worker: WorkerId) -> Optional[tuple[float, float]]:
        """``(since, head_since)`` of ``worker`` as the events' clocks gave them: its launch
        time while starting, else its last contact; when its head task started. None if the
        core does not know it."""
        w = self._workers.get(worker)
        return (w.since, w.head_since) if w else None

    def expected_seconds(self, worker: WorkerId) -> float:
        """How long a task is expected to take on ``worker``: its recent pace, else the mean
        of the others' (0.0 when nothing is known yet)."""
        w = self._workers.get(worker)
        if w is not None and w.pace:
            return w.pace
        paces = [o.pace for o in self._workers.values() if o.pace]
        return sum(paces) / len(paces) if paces else 0.0

    @property
    def starts_failing(self) -> bool:
        """Have so many starts in a row failed that no more workers are launched?"""
        return self._start_failures >= self.config.max_start_failures

    def load(self, now: float) -> Load:
        """What the adapt policy needs, at ``now``: O(workers), for a once-a-second look.

        Workers leaving (retiring, stopped) are not counted as capacity; their tasks are."""
        idle: dict[WorkerId, Optional[float]] = {}
        joined: dict[WorkerId, float] = {}
        starting = running = 0
        for wid, w in self._workers.items():
            running += len(w.queue)
            if w.state == STARTING:
                starting += 1
            elif not (w.retiring or w.stop_sent):
                # an empty queue has been empty since its last result (or since it joined)
                idle[wid] = None if w.queue else max(w.head_since, w.joined)
                joined[wid] = w.joined
        return Load(now, len(self._pending), running, starting, idle, joined)

    @property
    def idle(self) -> bool:
        """No task is pending or running."""
        return not self._pending and not self._where

    def next_deadline(self) -> Optional[float]:
        """The earliest time at which a ``Tick`` may decide something; None if no such time.

        A Tick earlier than this returns nothing, so the shell may sleep until then unless
        an event comes first. Events move deadlines: ask again after each.
        """
        cfg = self.config
        workers = self._workers.values()
        times = [w.since + (cfg.connect_timeout if w.state == STARTING else cfg.heartbeat_timeout)
                 for w in workers]
        if any(w.state == LIVE and not w.queue for w in workers):  # someone could steal
            times += [w.head_since + cfg.steal_after for w in workers
                      if w.state != STARTING and len(w.queue) > 1 and not w.revoking]
        return min(times, default=None)

    # -- the one entry point -----------------------------------------------------------
    def handle(self, event: Event) -> list[Command]:
        out: list[Command] = []
        getattr(self, "_on_" + type(event).__name__)(event, out)
        self._dispatch(out)
        return out

    # -- event handlers ----------------------------------------------------------------
    def _on_TasksSubmitted(self, ev: TasksSubmitted, out: list) -> None:
        self._pending.extend(ev.tasks)
        self._starved = False

    def _on_TasksWithdrawn(self, ev: TasksWithdrawn, out: list) -> None:
        gone = set(ev.tasks)
        self._pending = deque(t for t in self._pending if t not in gone)
        for t in gone:
            self._killers.pop(t, None)

    def _on_WorkerLaunched(self, ev: WorkerLaunched, out: list) -> None:
        self._now = max(self._now, ev.now)
        self._workers[ev.worker] = _Worker(STARTING, ev.now)
        self._starved = False

    def _on_WorkerJoined(self, ev: WorkerJoined, out: list) -> None:
        self._now = max(self._now, ev.now)
        w = self._workers.get(ev.worker)
        if w is None:  # joined without being launched by us (`netpool worker HOST:PORT`)
            w = self._workers[ev.worker] = _Worker(STARTING, ev.now)
        if w.state != STARTING:
            return
        w.state, w.since, w.joined = LIVE, ev.now, ev.now
        self._start_failures = 0
        self._ever_joined = True
        self._starved = False

    def _on_ResultsArrived(self, ev: ResultsArrived, out: list) -> None:
        self._now = max(self._now, ev.now)
        w = self._workers.get(ev.worker)
        if w is None or w.state == STARTING:
            return  # a late result from a worker already declared lost: stale
        w.since = ev.now
        began, done = w.head_since, 0
        for t, n in ev.attempts:
            if self._where.get(t) != (ev.worker, n):
                continue  # stale, stray or duplicate
            w.queue.remove(t)
            del self._where[t]
            self._killers.pop(t, None)
            out.append(Resolve(t, ev.worker, n))
            w.head_since = ev.now
            done += 1
        if done:
            per = max(ev.now - began, 0.0) / done
            w.pace = per if not w.pace else 0.7 * w.pace + 0.3 * per
        self._maybe_retire(ev.worker, w, out)

    def _on_Revoked(self, ev: Revoked, out: list) -> None:
        self._now = max(self._now, ev.now)
        w = self._workers.get(ev.worker)
        if w is None or w.state == STARTING:
            return
        w.revoking = False
        w.since = ev.now
        back = []
        for t, n in ev.attempts:
            if self._where.get(t) == (ev.worker, n):  # once only, even if named twice
                w.queue.remove(t)
                del self._where[t]
                back.append(t)
        self._pending.extendleft(reversed(back))
        self._starved = self._starved and not back  # new pending tasks: tell again
        self._maybe_retire(ev.worker, w, out)

    def _on_HeartbeatArrived(self, ev: HeartbeatArrived, out: list) -> None:
        self._now = max(self._now, ev.now)
        w = self._workers.get(ev.worker)
        if w is not None and w.state != STARTING:
            w.since = max(w.since, ev.now)

    def _on_WorkerLost(self, ev: WorkerLost, out: list) -> None:
        self._lose(ev.worker, ev.graceful, out)

    def _on_Tick(self, ev: Tick, out: list) -> None:
        self._now = now = max(self._now, ev.now)
        cfg = self.config
        for wid, w in list(self._workers.items()):
            if w.state == STARTING and now >= w.since + cfg.connect_timeout:
                out.append(KillWorker(wid, "connect"))
                self._lose(wid, False, out)
            elif w.state != STARTING and now >= w.since + cfg.heartbeat_timeout:
                out.append(KillWorker(wid, "heartbeat"))
                self._lose(wid, False, out)

    def _on_ReplacementDue(self, ev: ReplacementDue, out: list) -> None:
        w = self._workers.get(ev.worker)
        if w is not None and w.state != STARTING and not w.succeeded and self._may_launch():
            w.succeeded = True
            out.append(LaunchReplacement(ev.worker))

    def _on_RetireRequested(self, ev: RetireRequested, out: list) -> None:
        w = self._workers.get(ev.worker)
        if w is None or w.state == STARTING or w.retiring:
            return
        if ev.replace:
            self._on_ReplacementDue(ReplacementDue(ev.worker), out)
        w.retiring = w.succeeded = True
        w.state = DRAINING
        if len(w.queue) > 1 and not w.revoking:  # what it has not started goes elsewhere
            w.revoking = True
            out.append(RevokeTasks(ev.worker, tuple((t, self._where[t][1])
                                                    for t in list(w.queue)[1:])))
        self._maybe_retire(ev.worker, w, out)

    def _on_Closing(self, ev: Closing, out: list) -> None:
        self._closing = True
        for wid, w in self._workers.items():
            self._maybe_retire(wid, w, out)

    def _on_Configured(self, ev: Configured, out: list) -> None:
        self.config.heartbeat_timeout = ev.heartbeat_timeout
        self.config.connect_timeout = ev.connect_timeout

    # -- helpers -----------------------------------------------------------------------
    def _lose(self, wid: WorkerId, graceful: bool, out: list) -> None:
        w = self._workers.pop(wid, None)
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

    def _may_launch(self, lost: Optional[_Worker] = None) -> bool:
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
        return bool(self._pending) or self._waiting()

    def _used_up(self, w: _Worker) -> bool:
        limit = self.config.max_tasks
        return limit is not None and w.sent >= limit

    def _waiting(self) -> bool:
        """Is any task queued behind another's head, where an idle worker could steal it?"""
        return any(len(w.queue) > 1 for w in self._workers.values())

    def _maybe_retire(self, wid: WorkerId, w: _Worker, out: list) -> None:
        """Stop a worker that has no more to do: it used up max_tasks, or we are closing and
        no task is pending or waiting behind a head (it could still steal those)."""
        if w.state == STARTING or w.queue or w.stop_sent:
            return
        if (self._used_up(w) or w.retiring
                or (self._closing and not self._pending and not self._waiting())):
            w.state, w.stop_sent = DRAINING, True
            out.append(StopWorker(wid))

    def _dispatch(self, out: list) -> None:
        live = [(wid, w) for wid, w in self._workers.items() if w.state == LIVE]
        if self._pending:
            self._assign(live, out)
        if not self._pending:
            self._steal(live, out)
        elif (not self._starved and not self._may_launch()  # not `live`: _assign may drain
              and all(w.state == DRAINING for w in self._workers.values())):
            self._starved = True
            out.append(NoWorkers(tuple(self._pending), self._ever_joined))
        if self._closing and not self._pending:
            for wid, w in live:
                self._maybe_retire(wid, w, out)

    def _assign(self, live: list, out: list) -> None:
        cfg, now = self.config, self._now
        limit, slow = cfg.max_tasks, now - cfg.steal_after
        batches: dict[WorkerId, list[TaskId]] = {}
        # First one task to each idle worker, so that work spreads; then fill the windows,
        # except behind a head that has run long enough to be worth stealing from.
        for fill in (1, cfg.window):
            for wid, w in live:
                if fill > 1 and w.queue and w.head_since <= slow:
                    continue
                room = min(fill, self._window(w)) - len(w.queue)
                if limit is not None:
                    room = min(room, limit - w.sent)
                while room > 0 and self._pending:
                    t = self._pending.popleft()
                    if not w.queue:
                        w.head_since = now
                    w.queue.append(t)
                    w.sent += 1
                    self._attempts += 1
                    self._where[t] = (wid, self._attempts)
                    batches.setdefault(wid, []).append((t, self._attempts))
                    room -= 1
                if limit is not None and w.sent >= limit:
                    w.state = DRAINING  # no more work; StopWorker once its queue empties
            if not self._pending:
                break
        for wid, tasks in batches.items():
            out.append(SendTasks(wid, tuple(tasks)))

    def _window(self, w: _Worker) -> int:
        """Tasks to keep in flight on ``w``: enough to hide the round trip when its tasks are
        short, few when they are long (what waits behind a long task waits for nothing)."""
        cfg = self.config
        if not w.pace:  # not known yet: the full window; stealing corrects a bad guess
            return cfg.window
        # min() before int(): a pace decayed to a denormal by results timed at the same
        # instant would make the quotient infinite, and int(inf) raises.
        fits = min(cfg.queue_seconds / w.pace, cfg.window)
        return max(min(cfg.window, 2), min(cfg.window, 1 + int(fits)))

    def _steal(self, live: list, out: list) -> None:
        """An idle worker and nothing pending: take waiting tasks from behind a slow head."""
        now, after = self._now, self.config.steal_after
        # Victims first: there rarely are any, and this runs after every event.
        victims = [(wid, w) for wid, w in self._workers.items()
                   if len(w.queue) > 1 and w.state != STARTING and not w.revoking
                   and now >= w.head_since + after]
        if victims and any(not w.queue for _, w in live):
            for wid, w in victims:
                w.revoking = True
                out.append(RevokeTasks(wid, tuple((t, self._where[t][1])
                                                  for t in list(w.queue)[1:])))
