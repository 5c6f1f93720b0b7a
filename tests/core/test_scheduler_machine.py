"""The pure scheduling core, driven by a model of the shell (DESIGN.md section 3).

``SchedulerMachine`` plays the shell and the workers: it launches and joins workers, submits
tasks, delivers results in each worker's FIFO order (plus late and duplicate ones), answers
``RevokeTasks``, crashes workers, lets them exit, advances time. It carries out every command
the scheduler returns, checking each against what the model knows, and after every step it
checks the invariants:

a. every submitted task is in exactly one of pending / running on a live or draining worker /
   done (resolved, failed or withdrawn);
b. every task is resolved (``Resolve`` or ``FailTask``) at most once, and a ``Resolve`` names
   the worker the task was last sent to, which is still alive and has just sent its result
   for the attempt that is current there: a duplicate, a stray (unknown task, forged attempt
   number) or a result for an earlier attempt, even one sent to the same worker, resolves
   nothing, and none of them, nor a repeated revocation, can break the scheduler;
c. ``SendTasks`` only targets a live worker, never past its window or its ``max_tasks``;
d. a graceful exit never charges an attempt;
e. work-conserving up to the demand cap (demand.py): no live worker has an empty queue while
   tasks are pending, unless a cap holds, is below the live workers, and at least that many
   hold tasks; the cap is at least 1, so pending tasks always have a worker; and while it
   keeps an idle worker from pending (or stealable) tasks, ``next_deadline()`` names the
   time it lapses, at which a Tick hands them out: no task starves behind it;
f. a task whose workers died ``max_attempts`` times gets ``FailTask`` naming them, at once;
g. when tasks are pending, no worker is live or starting and none will be launched, the shell
   has been told (``NoWorkers``) about every pending task;
h. ``next_deadline()`` is honest: a Tick before it returns no command, and right after a Tick
   it lies in the future, so a shell that sleeps until it neither misses a timeout or a steal
   nor spins;
i. a close launches nothing it does not need: a worker is stopped for the close only when no
   task is pending or waiting behind any head (it could steal those), the exit of a worker the
   close stopped never brings a replacement, and any other loss during the close brings one
   only while such work is left (so a crash during the close strands nothing).

Besides, the model checks that the scheduler's views (pending order, each worker's queue, each
worker's state) equal its own, so requeue-to-the-front and FIFO dispatch are checked too, and at
teardown it lets fresh workers finish everything: every task ends done exactly once.
"""

from __future__ import annotations

import copy
import math
import sys
from collections import Counter, deque
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

try:
    import netpool._core.scheduler  # noqa: F401
except ImportError:  # a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from netpool._core.scheduler import (Closing, Config, FailTask, HeartbeatArrived,
                                     KillWorker, LaunchReplacement, NoWorkers, Resolve,
                                     ResultsArrived, Revoked, RevokeTasks, Scheduler,
                                     SendTasks, StopWorker, TasksSubmitted, TasksWithdrawn,
                                     Tick, WorkerJoined, WorkerLaunched, WorkerLost)

pytestmark = pytest.mark.timeout(120)

STARTING, LIVE, DRAINING = "starting", "live", "draining"
MAX_ALIVE = 5     # workers the shell keeps at once
MAX_TASKS = 40    # tasks submitted per run

configs = st.builds(
    Config,
    window=st.sampled_from([1, 2, 3, 4, 4]),
    max_attempts=st.integers(1, 3),
    max_tasks=st.sampled_from([None, None, None, 1, 2, 3]),  # mostly None: room to steal
    replace=st.booleans(),
    max_start_failures=st.integers(1, 3),
    heartbeat_timeout=st.sampled_from([5.0, 10.0]),
    connect_timeout=st.sampled_from([3.0, 8.0]),
    steal_after=st.sampled_from([0.05, 0.5]),
    # small margins, so that the cap binds with the few workers a run has
    demand_period=st.sampled_from([0.01, 0.05]),
    demand_headroom=st.sampled_from([1.0, 2.0]),
    demand_margin=st.sampled_from([1, 1, 2, 4]),
)
# Mostly short steps (so windows fill and heads get slow enough to steal from), now and then
# one past heartbeat_timeout / connect_timeout.
small_dt = st.sampled_from([0.0, 0.0, 0.01, 0.02, 0.03, 0.1, 0.6, 2.0])
# What a worker says its tasks took (RESULTS carries it since protocol 8), or nothing (the
# core then times them itself): tiny, so that windows open wide while steps are long, or not.
busy_s = st.none() | st.sampled_from([0.0, 1e-7, 1e-5, 0.0005, 0.01, 1.0])
tick_dt = st.sampled_from([0.01, 0.03, 0.06, 0.06, 0.2, 0.6, 1.0, 2.0, 6.0, 11.0])


LONE_TAKEN: Counter = Counter()  # lone paths taken, by event (test_lone_paths_are_taken)
CAPPED: Counter = Counter()  # states where the demand cap kept workers idle (test_the_cap_binds)


def compare_lone(sched: Scheduler, event, fast, commands_of) -> tuple:
    """``fast(sched)`` (a lone path) against ``handle(event)`` on a copy: the same commands
    and the same state after, or None having changed nothing. Returns (answer, commands)."""
    twin, before = copy.deepcopy(sched), core_state(sched)
    want = twin.handle(event)
    got = fast(sched)
    if got is None:
        assert core_state(sched) == before, f"declined {event}, changed the core"
        return None, want
    LONE_TAKEN[type(event).__name__] += 1
    assert commands_of(got) == want, f"lone path {got} for {event}, handle {want}"
    assert core_state(sched) == core_state(twin), f"lone path left another state for {event}"
    return got, want


def core_state(s: Scheduler) -> tuple:
    """Everything the scheduler decides from, but the steal heap (whose stale entries are
    dropped lazily; ``check_indexes`` checks it): the lone paths must leave exactly this."""
    r = s._roster
    ws = {wid: (w.state, w.since, tuple(w.queue), w.sent, w.head_since, w.head, w.slow_head,
                w.pace, w.win, w.revoking, w.stop_sent, w.joined, w.retiring, w.succeeded)
          for wid, w in r.workers.items()}
    return (ws, list(r.idle), list(r.room), list(r.waiting), list(r.starting),
            list(r.contact), r.active, tuple(s._pending), dict(s._where),
            {t: list(k) for t, k in s._killers.items()}, s._attempts, s._start_failures,
            s._ever_joined, s._closing, s._now, s._starved, s.next_deadline())


class _Step:
    """What the model expects of the commands answering one event."""

    def __init__(self, event) -> None:
        self.event = event
        self.resolve: list = []          # genuine results, in order: each must be resolved
        self.fail: dict = {}             # task -> killers
        self.launch: list = []           # workers whose loss must bring a LaunchReplacement
        self.kill: dict = {}             # worker -> reason, for a Tick
        self.snapshot: Optional[list] = None  # pending when the first SendTasks came
        self.sent: list = []


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sched: Optional[Scheduler] = None
        self.clean = True

    @initialize(cfg=configs)
    def setup(self, cfg: Config) -> None:
        self.cfg = cfg
        self.sched = Scheduler(cfg)
        self.now = 0.0
        self.next_task = self.next_worker = 0
        self.submitted: set = set()
        self.pending: list = []          # in the order the scheduler must hand them out
        self.state: dict = {}            # worker -> STARTING / LIVE / DRAINING
        self.queue: dict = {}            # worker -> the tasks it holds, head running
        self.sent: dict = {}             # worker -> tasks ever sent to it
        self.stopped: set = set()        # StopWorker received
        self.close_stopped: set = set()  # ... because of the close (not max_tasks)
        self.since: dict = {}            # launch time, then last contact
        self.revokes: dict = {}          # worker -> tasks asked back, reply not yet delivered
        self.stale_revokes: list = []    # (worker, tasks) asked back from a worker now gone
        self.gone: set = set()           # lost or killed
        self.history: list = []          # (worker, task, attempt) of every send
        self.attempt: dict = {}          # running task -> its current attempt number
        self.attempts_used: set = set()  # every attempt number the scheduler handed out
        self.last_sent: dict = {}
        self.done: dict = {}             # task -> "resolved" / "failed" / "withdrawn"
        self.killers: dict = {}          # task -> workers that died while it was their head
        self.start_failures = 0
        self.ever_joined = False
        self.closing = False
        self.owed_launches = 0
        self.told: set = set()           # pending tasks named by a NoWorkers

    # -- the model's view ----------------------------------------------------------------
    def may_launch(self, lost: Optional[int] = None) -> bool:
        """Will the scheduler ask for a replacement when ``lost`` (or any worker) goes away now?

        ``replace`` promises a replacement for every worker that goes away, unless starts keep
        failing; after ``Closing`` (i) only while there is work a new worker could take,
        pending or waiting behind a head (``Closing`` means "stop workers once everything is
        done", not "give up on what is left"), and never for a worker the close stopped.
        """
        cfg = self.cfg
        if not cfg.replace or self.start_failures >= cfg.max_start_failures:
            return False
        if not self.closing:
            return True
        if lost in self.close_stopped:
            return False
        return bool(self.pending) or self.waiting()

    def waiting(self) -> bool:
        """Tasks queued behind a head, which an idle worker could steal."""
        return any(len(q) > 1 for q in self.queue.values())

    def alive(self) -> int:
        """Workers that count against MAX_ALIVE: the stopped ones are on their way out."""
        return len(set(self.state) - self.stopped)

    def fresh_worker(self) -> int:
        self.next_worker += 1
        return self.next_worker

    def advance(self, dt: float) -> float:
        self.now += dt
        return self.now

    # -- one step: event in, every command carried out and checked ------------------------
    def deliver(self, event, decide=None) -> list:
        self.clean = False
        self.step = step = _Step(event)
        getattr(self, "see_" + type(event).__name__)(event)
        commands = decide() if decide is not None else self.sched.handle(event)
        for c in commands:
            if not isinstance(c, FailTask):  # FailTask comes right after the loss
                assert not step.fail, f"(f) expected FailTask for {step.fail} before {c}"
            getattr(self, "do_" + type(c).__name__)(c)
        assert not step.resolve, f"genuine results not resolved: {step.resolve}"
        assert not step.fail, f"(f) expected FailTask for {step.fail}"
        assert not step.launch, f"expected LaunchReplacement for {step.launch}"
        assert not step.kill, f"expected KillWorker for {step.kill}"
        if step.snapshot is not None:  # FIFO: what was sent is a prefix of what was pending
            first = step.snapshot[:len(step.sent)]
            assert set(step.sent) == set(first), f"sent {step.sent}, pending {step.snapshot}"
        return commands

    def lone(self, event, fast, commands_of) -> list:
        """Deliver ``event`` through one of lone.py's paths (``fast``, called with the
        scheduler), which must answer what ``handle`` answers on a copy of the scheduler and
        leave the same state, or answer None having changed nothing (then ``handle`` runs)."""
        def decide() -> list:
            got, want = compare_lone(self.sched, event, fast, commands_of)
            return self.sched.handle(event) if got is None else want
        return self.deliver(event, decide)

    def probe_lone(self) -> None:
        """Both lone paths, tried on copies of the scheduler as it is now: for a fresh task,
        and for the result of the first busy worker's head, and of a stale send."""
        t = 10**7 + self.next_task
        compare_lone(copy.deepcopy(self.sched), TasksSubmitted((t,)), lambda s: s.submit_one(t),
                     lambda got: [SendTasks(got[0], ((t, got[1]),))])
        sends = [(w, q[0], self.attempt[q[0]]) for w, q in self.queue.items() if q]
        for (w, t, n), busy in zip(sends[:1] + self.stale_sends()[:1], (None, 1e-5)):
            now = self.now + 0.01
            compare_lone(copy.deepcopy(self.sched), ResultsArrived(w, ((t, n),), now, busy),
                         lambda s: s.result_one(w, t, n, now, busy),
                         lambda got: [Resolve(t, w, n)] if got else [])

    def lose(self, w: int, graceful: bool) -> None:
        state = self.state.pop(w)
        queue = self.queue.pop(w)
        self.gone.add(w)
        if w in self.revokes:
            self.stale_revokes.append((w, self.revokes.pop(w)))
        if state == STARTING:
            self.start_failures += 1
        if queue and not graceful:
            self.killers.setdefault(queue[0], []).append(w)
        back = []
        for t in queue:
            del self.attempt[t]
            killers = self.killers.get(t, [])
            if len(killers) >= self.cfg.max_attempts:
                self.step.fail[t] = tuple(killers)
            else:
                back.append(t)
        self.pending[:0] = back  # requeued at the front, in queue order
        if self.may_launch(w):
            self.step.launch.append(w)

    # events, as facts the model learns
    def see_TasksSubmitted(self, ev) -> None:
        self.pending.extend(ev.tasks)
        self.submitted.update(ev.tasks)

    def see_TasksWithdrawn(self, ev) -> None:
        for t in ev.tasks:
            self.pending.remove(t)
            self.told.discard(t)
            self.killers.pop(t, None)
            self.done[t] = "withdrawn"

    def see_WorkerLaunched(self, ev) -> None:
        self.state[ev.worker] = STARTING
        self.queue[ev.worker], self.sent[ev.worker] = [], 0
        self.since[ev.worker] = ev.now

    def see_WorkerJoined(self, ev) -> None:
        if ev.worker not in self.state:  # joined without a launch: `netpool worker HOST:PORT`
            self.see_WorkerLaunched(ev)
        if self.state[ev.worker] == STARTING:
            self.state[ev.worker] = LIVE
            self.since[ev.worker] = ev.now
            self.start_failures = 0
            self.ever_joined = True

    def current(self, w: int, attempts) -> list:
        """The tasks of ``attempts`` current on ``w``, each once, in order."""
        out = []
        for t, n in attempts:
            if t in self.queue.get(w, ()) and self.attempt.get(t) == n and t not in out:
                out.append(t)
        return out

    def see_ResultsArrived(self, ev) -> None:
        if self.state.get(ev.worker, STARTING) != STARTING:
            self.since[ev.worker] = ev.now
            self.step.resolve = self.current(ev.worker, ev.attempts)

    def see_Revoked(self, ev) -> None:
        w = ev.worker
        if self.state.get(w, STARTING) != STARTING:
            self.since[w] = ev.now
            self.revokes.pop(w, None)
            back = self.current(w, ev.attempts)
            for t in back:
                self.queue[w].remove(t)
                del self.attempt[t]
            self.pending[:0] = back

    def see_HeartbeatArrived(self, ev) -> None:
        if self.state.get(ev.worker, STARTING) != STARTING:
            self.since[ev.worker] = max(self.since[ev.worker], ev.now)

    def see_WorkerLost(self, ev) -> None:
        if ev.worker in self.state:
            self.lose(ev.worker, ev.graceful)

    def see_Tick(self, ev) -> None:
        for w, state in self.state.items():
            if state == STARTING and ev.now >= self.since[w] + self.cfg.connect_timeout:
                self.step.kill[w] = "connect"
            elif state != STARTING and ev.now >= self.since[w] + self.cfg.heartbeat_timeout:
                self.step.kill[w] = "heartbeat"

    def see_Closing(self, ev) -> None:
        self.closing = True

    # commands, carried out as the shell would, and checked
    def do_SendTasks(self, c: SendTasks) -> None:
        w, cfg, step = c.worker, self.cfg, self.step
        assert c.attempts, c
        assert self.state.get(w) == LIVE, f"(c) {c} to a {self.state.get(w) or 'lost'} worker"
        if step.snapshot is None:
            step.snapshot = list(self.pending)
        tasks = [t for t, _ in c.attempts]
        order = [step.snapshot.index(t) for t in tasks]
        assert order == sorted(order), f"{c} out of pending order {step.snapshot}"
        for t, n in c.attempts:
            assert t in self.pending, f"{c}: {t} is not pending"
            assert n not in self.attempts_used, f"(b) {c}: attempt {n} handed out before"
            self.attempts_used.add(n)
            self.attempt[t] = n
            self.pending.remove(t)
            self.told.discard(t)
            self.queue[w].append(t)
            self.last_sent[t] = w
            self.history.append((w, t, n))
        step.sent.extend(tasks)
        self.sent[w] += len(tasks)
        assert len(self.queue[w]) <= cfg.window, f"(c) {c} overfills the window"
        if cfg.max_tasks is not None:
            assert self.sent[w] <= cfg.max_tasks, f"(c) {c} goes past max_tasks"
            if self.sent[w] >= cfg.max_tasks:
                self.state[w] = DRAINING

    def do_Resolve(self, c: Resolve) -> None:
        ev, t, w = self.step.event, c.task, c.worker
        assert isinstance(ev, ResultsArrived) and ev.worker == w, (c, ev)
        assert (t, c.attempt) in ev.attempts, f"(b) {c}: not a result of {ev}"
        assert t not in self.done, f"(b) {c}: task already {self.done[t]}"
        assert w in self.state and w not in self.gone, f"(b) {c}: from a lost worker"
        assert self.last_sent.get(t) == w and t in self.queue[w], f"(b) {c}: stale result"
        assert self.attempt[t] == c.attempt, f"(b) {c}: attempt {self.attempt[t]} is current"
        assert self.step.resolve[:1] == [t], f"{c}: expected {self.step.resolve}"
        self.step.resolve.pop(0)
        del self.attempt[t]
        self.queue[w].remove(t)
        self.killers.pop(t, None)
        self.done[t] = "resolved"

    def do_FailTask(self, c: FailTask) -> None:
        assert c.task not in self.done, f"(b) {c}: task already {self.done[c.task]}"
        assert c.task in self.step.fail, f"(d, f) unexpected {c}; {self.killers.get(c.task)}"
        assert c.killers == self.step.fail.pop(c.task), f"(d, f) {c}"
        self.killers.pop(c.task)
        self.done[c.task] = "failed"

    def do_KillWorker(self, c: KillWorker) -> None:
        assert isinstance(self.step.event, Tick), c
        assert self.step.kill.pop(c.worker, None) == c.reason, f"unexpected {c}"
        self.lose(c.worker, graceful=False)

    def do_LaunchReplacement(self, c: LaunchReplacement) -> None:
        assert self.step.launch[:1] == [c.worker], f"unexpected {c}"
        self.step.launch.pop(0)
        self.owed_launches += 1

    def do_RevokeTasks(self, c: RevokeTasks) -> None:
        w = c.worker
        assert self.state.get(w, STARTING) != STARTING and w not in self.revokes, c
        waiting = tuple((t, self.attempt[t]) for t in self.queue[w][1:])
        assert c.attempts and c.attempts == waiting, (c, waiting)
        assert not self.pending, f"{c} while tasks are pending"
        assert any(s == LIVE and not self.queue[v] for v, s in self.state.items()), (
            f"{c} with no idle worker to take them")
        self.revokes[w] = c.attempts

    def do_StopWorker(self, c: StopWorker) -> None:
        w, limit = c.worker, self.cfg.max_tasks
        assert self.state.get(w, STARTING) != STARTING and w not in self.stopped, c
        assert not self.queue[w], f"{c} with tasks {self.queue[w]}"
        used_up = limit is not None and self.sent[w] >= limit
        nothing_left = self.closing and not self.pending and not self.waiting()
        assert used_up or nothing_left, f"(i) {c} too early"
        self.state[w] = DRAINING
        self.stopped.add(w)
        if not used_up:
            self.close_stopped.add(w)

    def do_NoWorkers(self, c: NoWorkers) -> None:
        assert c.pending and c.pending == tuple(self.pending), f"{c}, pending {self.pending}"
        assert not any(s in (LIVE, STARTING) for s in self.state.values()), f"{c}: {self.state}"
        assert not self.may_launch(), f"{c} although a replacement will be launched"  # g
        assert c.ever_joined == self.ever_joined, c
        self.told.update(c.pending)

    # -- rules: what the shell and the workers may do ---------------------------------------
    def pick(self, data, items, label):
        return data.draw(st.sampled_from(sorted(items)), label=label)

    @precondition(lambda self: self.alive() < MAX_ALIVE)
    @rule(dt=small_dt)
    def launch(self, dt):
        self.deliver(WorkerLaunched(self.fresh_worker(), self.advance(dt)))

    @precondition(lambda self: self.owed_launches and self.alive() < MAX_ALIVE)
    @rule(dt=small_dt)
    def launch_replacement(self, dt):
        self.owed_launches -= 1
        self.deliver(WorkerLaunched(self.fresh_worker(), self.advance(dt)))

    @precondition(lambda self: STARTING in self.state.values())
    @rule(data=st.data(), dt=small_dt)
    def join(self, data, dt):
        w = self.pick(data, [w for w, s in self.state.items() if s == STARTING], "worker")
        self.deliver(WorkerJoined(w, self.advance(dt)))

    @precondition(lambda self: self.alive() < MAX_ALIVE)
    @rule(dt=small_dt)
    def join_unlaunched(self, dt):
        self.deliver(WorkerJoined(self.fresh_worker(), self.advance(dt)))

    @precondition(lambda self: not self.closing and len(self.submitted) < MAX_TASKS)
    @rule(n=st.integers(1, 4), lone=st.booleans())
    def submit(self, n, lone):
        tasks = tuple(range(self.next_task, self.next_task + n))
        self.next_task += n
        if lone and n == 1:
            self.submit_lone(tasks[0])
        else:
            self.deliver(TasksSubmitted(tasks))

    @precondition(lambda self: not self.closing and len(self.submitted) < MAX_TASKS
                  and any(s == LIVE for s in self.state.values()))
    @rule()
    def apply(self):
        """One task, as a sequential ``apply`` submits it, through the shell's lone path."""
        self.next_task += 1
        self.submit_lone(self.next_task - 1)

    def submit_lone(self, t: int) -> None:
        self.lone(TasksSubmitted((t,)), lambda s: s.submit_one(t),
                  lambda got: [SendTasks(got[0], ((t, got[1]),))])

    def busy(self) -> list:
        return [w for w, q in self.queue.items() if q and self.state[w] != STARTING]

    @precondition(lambda self: self.busy())
    @rule(data=st.data(), dt=small_dt, busy=busy_s)
    def result(self, data, dt, busy):
        """The worker finishes the task at the head of its queue."""
        w = self.pick(data, self.busy(), "worker")
        head = self.queue[w][0]
        self.deliver_result(data, w, head, self.attempt[head], dt, busy)

    def deliver_result(self, data, w: int, t: int, n: int, dt: float, busy=None) -> list:
        """A one-result RESULTS, through ``handle`` or (drawn) the shell's lone path."""
        ev = ResultsArrived(w, ((t, n),), self.advance(dt), busy)
        if data.draw(st.booleans(), label="lone"):
            return self.lone(ev, lambda s: s.result_one(w, t, n, ev.now, busy),
                             lambda got: [Resolve(t, w, n)] if got else [])
        return self.deliver(ev)

    @precondition(lambda self: self.busy())
    @rule(data=st.data(), dt=small_dt, stale=st.booleans(), busy=busy_s)
    def results(self, data, dt, stale, busy):
        """The worker sends results for the first k tasks of its queue (FIFO), with now and
        then an old result of the same worker, or the same result twice, riding along."""
        w = self.pick(data, self.busy(), "worker")
        q = self.queue[w]
        sent = [(t, self.attempt[t]) for t in q[:data.draw(st.integers(1, len(q)), label="k")]]
        old = [(t, n) for v, t, n in self.stale_sends() if v == w] + sent
        if stale:
            at = data.draw(st.integers(0, len(sent)), label="at")
            sent.insert(at, data.draw(st.sampled_from(old), label="duplicate"))
        self.deliver(ResultsArrived(w, tuple(sent), self.advance(dt),
                                    None if busy is None else busy * len(sent)))

    def stale_sends(self) -> list:
        """Sends whose attempt is no longer current where it went (done, moved or resent)."""
        return sorted({(w, t, n) for w, t, n in self.history
                       if not (t in self.queue.get(w, ()) and self.attempt.get(t) == n)})

    @precondition(lambda self: self.stale_sends())
    @rule(data=st.data(), dt=small_dt)
    def stale_result(self, data, dt):
        """A late result from a lost worker, a duplicate of a task already done, or a result
        for an earlier attempt of a task the worker holds again (revoked, then resent)."""
        w, t, n = data.draw(st.sampled_from(self.stale_sends()), label="stale")
        commands = self.deliver_result(data, w, t, n, dt)
        assert not any(isinstance(c, (Resolve, FailTask)) for c in commands), commands

    @precondition(lambda self: self.state)
    @rule(data=st.data(), dt=small_dt, known=st.booleans(), off=st.sampled_from([-1, 1, 7]))
    def stray_result(self, data, dt, known, off):
        """A result nobody sent: an unknown task id, or a running task with a forged attempt
        number (a forked copy of a worker, a confused peer). It resolves nothing."""
        w = self.pick(data, self.state, "worker")
        running = sorted(self.attempt)
        if known and running:
            t = data.draw(st.sampled_from(running), label="task")
            forged = (t, self.attempt[t] + off)
        else:
            forged = (10**6 + data.draw(st.integers(0, 3), label="unknown"), off)
        commands = self.deliver_result(data, w, *forged, dt)
        assert not any(isinstance(c, (Resolve, FailTask)) for c in commands), commands

    @precondition(lambda self: self.revokes)
    @rule(data=st.data(), dt=small_dt)
    def revoked(self, data, dt):
        """The worker gives back the revoked tasks it has not started (a suffix of them); now
        and then one of them is named twice, which must not break the scheduler."""
        w = self.pick(data, self.revokes, "worker")
        asked = self.revokes[w]
        unstarted = [(t, self.attempt[t]) for t in self.queue[w][1:]
                     if (t, self.attempt[t]) in asked]
        started = data.draw(st.integers(0, len(unstarted)), label="started meanwhile")
        back = unstarted[started:]
        if back and data.draw(st.booleans(), label="twice"):
            back.insert(data.draw(st.integers(0, len(back)), label="at"), back[0])
        self.deliver(Revoked(w, tuple(back), self.advance(dt)))

    @precondition(lambda self: self.stale_revokes)
    @rule(data=st.data(), dt=small_dt)
    def revoked_stale(self, data, dt):
        i = data.draw(st.integers(0, len(self.stale_revokes) - 1), label="i")
        w, tasks = self.stale_revokes.pop(i)
        commands = self.deliver(Revoked(w, tasks, self.advance(dt)))
        assert not any(isinstance(c, (Resolve, FailTask)) for c in commands), commands

    @precondition(lambda self: self.state)
    @rule(data=st.data(), graceful=st.booleans())
    def exit(self, data, graceful):
        """A crash mid-task, or a clean exit at any time: that one must charge no attempt."""
        self.deliver(WorkerLost(self.pick(data, self.state, "worker"), graceful))

    @precondition(lambda self: self.stopped & set(self.state))
    @rule()
    def exit_after_stop(self):
        """Workers told to stop do so."""
        for w in sorted(self.stopped & set(self.state)):
            self.deliver(WorkerLost(w, graceful=True))

    @precondition(lambda self: self.gone)
    @rule(data=st.data(), graceful=st.booleans())
    def lost_again(self, data, graceful):
        """The socket of a worker already declared lost (say, killed) closes: a no-op."""
        w = self.pick(data, self.gone, "worker")
        assert self.deliver(WorkerLost(w, graceful)) == []

    @rule(dt=tick_dt)
    def tick(self, dt):
        self.deliver(Tick(self.advance(dt)))
        deadline = self.sched.next_deadline()
        # A shell that sleeps until the deadline must not wake to find it already due.
        assert deadline is None or deadline > self.now, f"deadline {deadline} at {self.now}"

    @precondition(lambda self: any(s != STARTING for s in self.state.values()))
    @rule(data=st.data(), dt=small_dt)
    def heartbeat(self, data, dt):
        w = self.pick(data, [w for w, s in self.state.items() if s != STARTING], "worker")
        self.deliver(HeartbeatArrived(w, self.advance(dt)))

    @precondition(lambda self: self.gone)
    @rule(data=st.data(), dt=small_dt)
    def heartbeat_stale(self, data, dt):
        deadline = self.sched.next_deadline()
        commands = self.deliver(HeartbeatArrived(self.pick(data, self.gone, "w"), self.advance(dt)))
        assert not any(isinstance(c, (Resolve, FailTask)) for c in commands)
        # Any event moves the core's clock: a demand cap that lapsed by then lets idle
        # workers take pending tasks (that deadline was due). Otherwise nothing is sent.
        if deadline is None or deadline > self.now:
            assert not any(isinstance(c, SendTasks) for c in commands), commands

    @precondition(lambda self: not self.closing)
    @rule(dice=st.integers(0, 3))
    def close(self, dice):
        if dice == 0:  # one time in four, so that most runs go on submitting for a while
            self.deliver(Closing())

    @precondition(lambda self: self.told & set(self.pending))
    @rule(data=st.data())
    def withdraw(self, data):
        """After NoWorkers the shell fails some (or all) of the tasks it was told about."""
        told = sorted(self.told & set(self.pending))
        tasks = data.draw(st.lists(st.sampled_from(told), min_size=1, unique=True), label="tasks")
        self.deliver(TasksWithdrawn(tuple(tasks)))

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def check(self) -> None:
        if self.sched is None:
            return
        s = self.sched
        # a. each task in exactly one place, by the scheduler's own views
        where = Counter(s.pending)
        for w, state in s.workers.items():
            running = s.running_on(w)
            assert not running or state in (LIVE, DRAINING), f"(a) {running} on {state} {w}"
            where.update(running)
        where.update(self.done.keys())
        missing = sorted(self.submitted - set(where))
        assert not missing, f"(a) tasks {missing} are neither pending, running nor done"
        twice = sorted(t for t, n in where.items() if n > 1)
        assert not twice, f"(a) tasks {twice} are in two places at once"
        assert s.idle == (not s.pending and not any(s.running_on(w) for w in s.workers))
        # the scheduler's views agree with the model (FIFO order, requeue to the front)
        assert s.workers == self.state, f"worker states {s.workers}, model {self.state}"
        assert s.pending == tuple(self.pending), f"pending {s.pending}, model {self.pending}"
        for w in self.state:
            assert s.running_on(w) == tuple(self.queue[w]), (
                f"on {w}: {s.running_on(w)}, model {self.queue[w]}")
        # h. the deadline is honest: a Tick before it decides nothing, so a shell that
        #    sleeps until it misses nothing (an overdue deadline means "tick now")
        deadline = s.next_deadline()
        if deadline is None or deadline > self.now:
            before = self.now + 1000.0 if deadline is None else math.nextafter(deadline, 0.0)
            probe = copy.deepcopy(s)
            assert probe.handle(Tick(before)) == [], f"(h) a Tick at {before} < {deadline} acts"
        # e. work-conserving, up to the demand cap
        live = [w for w, st_ in self.state.items() if st_ == LIVE]
        holding = [w for w in live if self.queue[w]]
        assert s.busy_workers == len(holding), f"{s.busy_workers} busy, model {holding}"
        cap = s.demand_cap
        assert cap is None or cap >= 1, f"(e) a cap of {cap} serves nobody"
        idle = [w for w in live if not self.queue[w]]
        stealable = [w for w in holding if len(self.queue[w]) > 1 and w not in self.revokes]
        if s.pending and idle:
            assert cap is not None and len(live) > cap <= len(holding), (
                f"(e) live workers {idle} idle while {s.pending} pending (cap {cap}, "
                f"holding {holding})")
        if idle and cap is not None and len(live) > cap <= len(holding) and (
                s.pending or stealable):
            CAPPED["pending" if s.pending else "stealable"] += 1
            assert deadline is not None, f"(e) the cap {cap} keeps {idle} idle, no deadline"
            probe = copy.deepcopy(s)
            woken = probe.handle(Tick(max(deadline, self.now)))
            assert any(isinstance(c, (SendTasks, RevokeTasks, KillWorker)) for c in woken), (
                f"(e) at the cap's deadline {deadline} idle {idle} still get nothing: {woken}")
        # workers with nothing left to do are told to stop at once
        limit = self.cfg.max_tasks
        for w, state in self.state.items():
            if state == STARTING or self.queue[w] or w in self.stopped:
                continue
            used_up = limit is not None and self.sent[w] >= limit
            nothing_left = self.closing and not self.pending and not self.waiting()
            assert not (used_up or nothing_left), f"{w} not stopped"
        # g. nobody left to run pending tasks: the shell knows
        if (self.pending and not self.may_launch()
                and not any(st_ in (LIVE, STARTING) for st_ in self.state.values())):
            untold = set(self.pending) - self.told
            assert not untold, f"(g) tasks {sorted(untold)} stranded without a NoWorkers"
        # lone.py answers as handle would, or declines, on every state reached
        self.probe_lone()
        self.clean = True

    def teardown(self) -> None:
        """Let workers finish everything: every task ends done exactly once."""
        if self.sched is None or not self.clean:
            return  # a step failed: Hypothesis reports that
        for _ in range(1000):
            live_revokes = sorted(self.revokes)
            busy = self.busy()
            starting = sorted(w for w, s in self.state.items() if s == STARTING)
            self.now += 0.01
            if live_revokes:
                w = live_revokes[0]
                unstarted = [(t, self.attempt[t]) for t in self.queue[w][1:]
                             if (t, self.attempt[t]) in self.revokes[w]]
                self.deliver(Revoked(w, tuple(unstarted), self.now))
            elif busy:
                held = self.queue[busy[0]]
                self.deliver(ResultsArrived(busy[0], tuple((t, self.attempt[t]) for t in held),
                                            self.now))
            elif self.pending:
                w = starting[0] if starting else self.fresh_worker()
                self.deliver(WorkerJoined(w, self.now))
            else:
                break
            self.check()
        assert self.sched.idle and set(self.done) == self.submitted
        if self.closing:
            assert all(w in self.stopped for w, s in self.state.items() if s != STARTING)


class BusyMachine(SchedulerMachine):
    """Long-lived workers with deep windows, replaced when they die: where stealing happens."""

    @initialize(cfg=st.builds(Config, window=st.integers(3, 4), replace=st.just(True),
                              heartbeat_timeout=st.just(10.0), connect_timeout=st.just(8.0),
                              steal_after=st.just(0.05), demand_margin=st.sampled_from([1, 4])))
    def setup(self, cfg: Config) -> None:
        super().setup(cfg)


class LoneMachine(SchedulerMachine):
    """Few tasks at a time on joined workers, no ``max_tasks``: where lone.py's paths apply."""

    @initialize(cfg=st.builds(Config, window=st.sampled_from([1, 1, 2]), replace=st.booleans(),
                              max_attempts=st.integers(1, 3), heartbeat_timeout=st.just(10.0),
                              connect_timeout=st.just(8.0), steal_after=st.just(0.05),
                              demand_margin=st.sampled_from([1, 4])))
    def setup(self, cfg: Config) -> None:
        super().setup(cfg)


machine_settings = settings(
    max_examples=200, stateful_step_count=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SchedulerMachine.TestCase.settings = machine_settings
BusyMachine.TestCase.settings = settings(machine_settings, max_examples=100)
TestSchedulerMachine = SchedulerMachine.TestCase
TestBusyMachine = BusyMachine.TestCase
LoneMachine.TestCase.settings = settings(machine_settings, max_examples=100)
TestLoneMachine = LoneMachine.TestCase


# --------------------------------------------------------------------------- examples


def run(sched: Scheduler, *events) -> list:
    out = []
    for ev in events:
        out.extend(sched.handle(ev))
    return out


def live_scheduler(cfg: Config, *workers: int) -> Scheduler:
    sched = Scheduler(cfg)
    for w in workers:
        run(sched, WorkerLaunched(w, 0.0), WorkerJoined(w, 0.0))
    return sched


def test_a_worker_joining_first_leaves_the_starting_ones_their_share():
    """Found by a corpus program (nautilus-sampler's test_pool): ``Pool(2).map`` of 20 short
    chunks right after ``Pool()`` ran every chunk on the worker that joined first, its
    guessed window (first_window) queueing them all behind heads too quick to be stolen
    from. While a worker is still starting, one of unknown pace takes about its share; once
    its pace is known it takes by its window again."""
    sched = Scheduler(Config(window=128))
    run(sched, WorkerLaunched(1, 0.0), WorkerLaunched(2, 0.0), WorkerJoined(1, 0.0))
    [first] = run(sched, TasksSubmitted(tuple(range(20))))
    assert first.worker == 1 and len(first.attempts) == 11  # one, then half of the 19 left
    assert len(sched.pending) == 9
    [second] = run(sched, WorkerJoined(2, 0.01))
    assert second.worker == 2 and len(second.attempts) == 9
    # Alone and not yet paced, a worker still takes its whole guessed window.
    alone = live_scheduler(Config(window=128), 3)
    [sent] = run(alone, TasksSubmitted(tuple(range(100, 140))))
    assert len(sent.attempts) == Config().first_window


def test_requeue_after_crash_goes_to_the_front():
    sched = live_scheduler(Config(window=2), 1)
    assert run(sched, TasksSubmitted((10, 11, 12, 13))) == [SendTasks(1, ((10, 1), (11, 2)))]
    assert sched.pending == (12, 13)
    out = run(sched, WorkerLost(1))
    assert out == [NoWorkers((10, 11, 12, 13), ever_joined=True)]
    assert sched.pending == (10, 11, 12, 13)
    assert run(sched, WorkerJoined(2, 1.0)) == [SendTasks(2, ((10, 3), (11, 4)))]


def test_stale_result_after_requeue_is_ignored():
    sched = live_scheduler(Config(window=1, heartbeat_timeout=10.0), 1)
    assert run(sched, TasksSubmitted((7,))) == [SendTasks(1, ((7, 1),))]
    assert run(sched, Tick(11.0)) == [KillWorker(1, "heartbeat"),
                                      NoWorkers((7,), ever_joined=True)]
    assert run(sched, WorkerJoined(2, 11.5)) == [SendTasks(2, ((7, 2),))]
    assert run(sched, ResultsArrived(1, ((7, 1),), 12.0)) == []   # worker 1 was only slow
    assert sched.running_on(2) == (7,)
    assert run(sched, ResultsArrived(2, ((7, 2),), 12.5)) == [Resolve(7, 2, 2)]
    assert run(sched, ResultsArrived(2, ((7, 2),), 12.6)) == []   # duplicate
    assert sched.idle


def test_slow_head_with_queued_tasks_is_robbed_by_an_idle_worker():
    sched = live_scheduler(Config(window=3, steal_after=0.05), 1)
    # one quick task first: the window opens to 3 once the worker's pace is known
    assert run(sched, TasksSubmitted((0,))) == [SendTasks(1, ((0, 1),))]
    assert run(sched, ResultsArrived(1, ((0, 1),), 0.001)) == [Resolve(0, 1, 1)]
    assert run(sched, TasksSubmitted((1, 2, 3))) == [SendTasks(1, ((1, 2), (2, 3), (3, 4)))]
    run(sched, WorkerLaunched(2, 0.0))
    assert run(sched, WorkerJoined(2, 0.01)) == []           # head has not run long enough
    assert run(sched, Tick(0.04)) == []
    assert run(sched, Tick(0.06)) == [RevokeTasks(1, ((2, 3), (3, 4)))]
    assert run(sched, Tick(0.07)) == []                      # asked once
    # worker 1 finished task 1 and started task 2 meanwhile: only 3 comes back
    assert run(sched, ResultsArrived(1, ((1, 2),), 0.08)) == [Resolve(1, 1, 2)]
    assert run(sched, Revoked(1, ((3, 4),), 0.09)) == [SendTasks(2, ((3, 5),))]
    assert sched.running_on(1) == (2,) and sched.running_on(2) == (3,)
    assert run(sched, ResultsArrived(1, ((3, 4),), 0.1)) == []  # 1 gave 3 back: not its result
    assert sched.running_on(2) == (3,)


def test_a_result_for_an_earlier_attempt_on_the_same_worker_resolves_nothing():
    """Task 3 was revoked from worker 1 and later sent to it again: a result for the first
    attempt (a duplicate, or a forked copy of the worker still running its old queue) is
    not a result of the second."""
    sched = live_scheduler(Config(window=2, steal_after=0.05), 1, 2)
    assert run(sched, TasksSubmitted((1, 2, 3))) == [SendTasks(1, ((1, 1), (3, 3))),
                                                     SendTasks(2, ((2, 2),))]
    assert run(sched, ResultsArrived(2, ((2, 2),), 0.1)) == [Resolve(2, 2, 2),
                                                             RevokeTasks(1, ((3, 3),))]
    assert run(sched, Revoked(1, ((3, 3),), 0.11)) == [SendTasks(2, ((3, 4),))]
    run(sched, WorkerLost(2))                                 # 3 back to pending; 1 busy
    assert run(sched, ResultsArrived(1, ((1, 1),), 0.12)) == [Resolve(1, 1, 1),
                                                              SendTasks(1, ((3, 5),))]
    assert run(sched, ResultsArrived(1, ((3, 3),), 0.13)) == []  # the revoked attempt
    assert run(sched, ResultsArrived(1, ((3, 4),), 0.13)) == []  # worker 2's attempt
    assert run(sched, ResultsArrived(1, ((3, 6), (99, 5)), 0.13)) == []  # forged, stray
    assert sched.running_on(1) == (3,)
    assert run(sched, ResultsArrived(1, ((3, 5), (3, 5)), 0.14)) == [Resolve(3, 1, 5)]
    assert sched.idle


def test_a_revocation_naming_a_task_twice_gives_it_back_once():
    """Regression: ``ValueError: 9 is not in deque`` from a REVOKED that named a task twice
    (a forked process answering on the worker's link) killed the manager loop."""
    sched = live_scheduler(Config(window=3, steal_after=0.05), 1, 2)
    run(sched, TasksSubmitted((1, 2, 3, 4)))
    assert sched.running_on(1) == (1, 3, 4)
    assert run(sched, ResultsArrived(2, ((2, 2),), 0.1)) == [Resolve(2, 2, 2),
                                                             RevokeTasks(1, ((3, 3), (4, 4)))]
    assert run(sched, Revoked(1, ((4, 4), (4, 4), (3, 9), (8, 1)), 0.11)) == [
        SendTasks(2, ((4, 5),))]
    assert run(sched, Revoked(1, ((4, 4),), 0.12)) == []      # again: no longer there
    assert sched.running_on(1) == (1, 3) and sched.running_on(2) == (4,)


def test_heartbeat_timeout_kills_a_silent_worker():
    sched = live_scheduler(Config(window=1, heartbeat_timeout=10.0), 1, 2)
    run(sched, TasksSubmitted((5, 6)))
    assert run(sched, HeartbeatArrived(1, 6.0), Tick(9.99)) == []
    assert run(sched, Tick(10.5)) == [KillWorker(2, "heartbeat")]
    assert sched.pending == (6,) and sched.workers == {1: LIVE}
    assert run(sched, Tick(16.5)) == [KillWorker(1, "heartbeat"),
                                      NoWorkers((5, 6), ever_joined=True)]
    assert run(sched, WorkerLost(1), WorkerLost(2)) == []     # sockets close later: no-op


def test_connect_timeout_kills_a_starting_worker_and_replaces_it():
    sched = Scheduler(Config(connect_timeout=5.0, replace=True, max_start_failures=2))
    run(sched, TasksSubmitted((1,)), WorkerLaunched(1, 0.0))
    assert run(sched, Tick(4.99)) == []
    assert run(sched, Tick(5.0)) == [KillWorker(1, "connect"), LaunchReplacement(1)]
    run(sched, WorkerLaunched(2, 5.2))
    # a second failed start in a row reaches max_start_failures: give up
    assert run(sched, Tick(10.3)) == [KillWorker(2, "connect"),
                                      NoWorkers((1,), ever_joined=False)]


def test_max_tasks_retires_the_worker_and_replaces_it():
    sched = live_scheduler(Config(window=2, max_tasks=2, replace=True), 1)
    assert run(sched, TasksSubmitted((1, 2, 3))) == [SendTasks(1, ((1, 1), (2, 2)))]
    assert sched.worker_state(1) == DRAINING
    assert run(sched, ResultsArrived(1, ((1, 1),), 0.1)) == [Resolve(1, 1, 1)]
    assert run(sched, ResultsArrived(1, ((2, 2),), 0.2)) == [Resolve(2, 1, 2), StopWorker(1)]
    assert run(sched, WorkerLost(1, graceful=True)) == [LaunchReplacement(1)]
    run(sched, WorkerLaunched(2, 0.3))
    assert run(sched, WorkerJoined(2, 0.4)) == [SendTasks(2, ((3, 3),))]


def test_poison_task_fails_after_max_attempts_and_graceful_exits_do_not_count():
    sched = live_scheduler(Config(window=1, max_attempts=2), 1, 2, 3, 4)
    assert run(sched, TasksSubmitted((9,))) == [SendTasks(1, ((9, 1),))]
    assert run(sched, WorkerLost(1)) == [SendTasks(2, ((9, 2),))]
    assert run(sched, WorkerLost(2, graceful=True)) == [SendTasks(3, ((9, 3),))]
    assert run(sched, WorkerLost(3)) == [FailTask(9, (1, 3))]
    assert sched.idle


def test_closing_stops_idle_workers_once_everything_is_done():
    sched = live_scheduler(Config(window=1), 1, 2)
    run(sched, TasksSubmitted((1,)))
    assert run(sched, Closing()) == [StopWorker(2)]
    assert run(sched, ResultsArrived(1, ((1, 1),), 0.1)) == [Resolve(1, 1, 1), StopWorker(1)]


def test_no_workers_is_repeated_for_tasks_requeued_after_it():
    """Regression, two bugs: NoWorkers was not said when the only worker drained in the same
    step (a stale list of live workers), nor again for tasks a crash put back after it."""
    sched = live_scheduler(Config(window=2, max_tasks=2), 1)
    assert run(sched, TasksSubmitted((1, 2, 3))) == [SendTasks(1, ((1, 1), (2, 2))),
                                                     NoWorkers((3,), ever_joined=True)]
    run(sched, TasksWithdrawn((3,)))
    assert run(sched, WorkerLost(1)) == [NoWorkers((1, 2), ever_joined=True)]


def test_closing_keeps_replacing_workers_while_work_is_pending():
    """Regression: Closing stopped replacements, so tasks left after it were never run."""
    sched = live_scheduler(Config(window=1, max_tasks=1, replace=True), 1)
    assert run(sched, TasksSubmitted((1, 2))) == [SendTasks(1, ((1, 1),))]
    run(sched, Closing())
    assert run(sched, ResultsArrived(1, ((1, 1),), 0.1)) == [Resolve(1, 1, 1), StopWorker(1)]
    assert run(sched, WorkerLost(1, graceful=True)) == [LaunchReplacement(1)]
    run(sched, WorkerLaunched(2, 0.2))
    assert run(sched, WorkerJoined(2, 0.3)) == [SendTasks(2, ((2, 2),))]
    assert run(sched, ResultsArrived(2, ((2, 2),), 0.4)) == [Resolve(2, 2, 2), StopWorker(2)]
    assert run(sched, WorkerLost(2, graceful=True)) == []    # all done: no replacement


def test_no_workers_is_repeated_for_revoked_tasks_after_it():
    """Regression: tasks given back by Revoked after a NoWorkers were stranded silently."""
    sched = live_scheduler(Config(window=3, max_tasks=3), 1, 2)
    assert run(sched, TasksSubmitted((1, 2, 3, 4))) == [SendTasks(1, ((1, 1), (3, 3), (4, 4))),
                                                        SendTasks(2, ((2, 2),))]
    assert run(sched, ResultsArrived(2, ((2, 2),), 0.1)) == [Resolve(2, 2, 2),
                                                             RevokeTasks(1, ((3, 3), (4, 4)))]
    assert run(sched, WorkerLost(2)) == []
    assert run(sched, TasksSubmitted((5,))) == [NoWorkers((5,), ever_joined=True)]
    run(sched, TasksWithdrawn((5,)))
    assert run(sched, Revoked(1, ((3, 3), (4, 4)), 0.2)) == [NoWorkers((3, 4), ever_joined=True)]


def test_results_at_one_instant_never_break_the_window():
    """Pace decays towards zero when results keep arriving at the same ``now`` (one read of
    many messages); it reached a denormal after ~2000 and the window computation raised."""
    sched = live_scheduler(Config(window=32), 1)
    for t in range(3000):
        assert run(sched, TasksSubmitted((t,))) == [SendTasks(1, ((t, t + 1),))]
        assert run(sched, ResultsArrived(1, ((t, t + 1),), 1.0)) == [Resolve(t, 1, t + 1)]


def test_a_window_follows_the_time_the_worker_says_its_tasks_took():
    """Issue 9: on a crowded machine a 1 us task came back milliseconds after it was sent,
    so its worker's window shrank to 2 and each message carried ~2 tasks. The worker's own
    count of its busy seconds keeps the window full; without it the core's clock decides."""
    told, timed = live_scheduler(Config(window=32), 1), live_scheduler(Config(window=32), 1)
    for sched, busy in ((told, 1e-6 * 32), (timed, None)):
        run(sched, TasksSubmitted(tuple(range(64))))
        sent = sched.running_on(1)
        assert len(sent) == 32  # the full window while the pace is unknown
        attempts = tuple((t, n + 1) for n, t in enumerate(sent))
        run(sched, ResultsArrived(1, attempts, 0.064, busy))  # 64 ms after the send
    assert len(told.running_on(1)) == 32
    assert len(timed.running_on(1)) == 2  # by our clock 2 ms a task: 2 ms queued is 1
    assert told.expected_seconds(1) == pytest.approx(1e-6)


def test_closing_keeps_an_idle_worker_while_tasks_wait_behind_a_head():
    """Regression (issue 8): close() right after submitting stopped idle workers while another
    held queued tasks, and replaced them (a Pool(4) started 23 processes)."""
    sched = live_scheduler(Config(window=3, steal_after=0.05, replace=True), 1)
    assert run(sched, TasksSubmitted((1, 2, 3))) == [SendTasks(1, ((1, 1), (2, 2), (3, 3)))]
    run(sched, WorkerLaunched(2, 0.0))
    assert run(sched, Closing()) == []
    assert run(sched, WorkerJoined(2, 0.01)) == []             # not stopped: 2 and 3 wait
    assert run(sched, Tick(0.06)) == [RevokeTasks(1, ((2, 2), (3, 3)))]
    assert run(sched, Revoked(1, ((2, 2), (3, 3)), 0.07)) == [SendTasks(2, ((2, 4), (3, 5)))]
    assert run(sched, ResultsArrived(1, ((1, 1),), 0.08)) == [Resolve(1, 1, 1)]  # 3 waits
    assert run(sched, ResultsArrived(2, ((2, 4),), 0.09)) == [Resolve(2, 2, 4), StopWorker(1)]
    assert run(sched, WorkerLost(1, graceful=True)) == []      # stopped by the close: no one new
    assert run(sched, ResultsArrived(2, ((3, 5),), 0.1)) == [Resolve(3, 2, 5), StopWorker(2)]
    assert run(sched, WorkerLost(2, graceful=True)) == [] and sched.idle


def test_a_crash_during_closing_replaces_the_worker_so_its_tasks_are_not_stranded():
    sched = live_scheduler(Config(window=1, replace=True), 1, 2)
    assert run(sched, TasksSubmitted((1,))) == [SendTasks(1, ((1, 1),))]
    assert run(sched, Closing()) == [StopWorker(2)]
    assert run(sched, WorkerLost(1)) == [LaunchReplacement(1)]  # task 1 is pending again
    assert run(sched, WorkerLost(2, graceful=True)) == []
    run(sched, WorkerLaunched(3, 0.1))
    assert run(sched, WorkerJoined(3, 0.2)) == [SendTasks(3, ((1, 2),))]
    assert run(sched, ResultsArrived(3, ((1, 2),), 0.3)) == [Resolve(1, 3, 2), StopWorker(3)]
    assert run(sched, WorkerLost(3, graceful=True)) == [] and sched.idle


def test_a_crash_during_closing_without_replacement_says_no_workers():
    """Without replacement (Manager, SSH, batch arrays) the pending task is not left waiting
    for a worker that will never come: the shell is told, as at any other time."""
    sched = live_scheduler(Config(window=1), 1, 2)
    run(sched, TasksSubmitted((1,)))
    assert run(sched, Closing()) == [StopWorker(2)]
    assert run(sched, WorkerLost(1)) == [NoWorkers((1,), ever_joined=True)]


def test_a_tick_at_the_reported_steal_deadline_steals():
    """Regression: the steal test compared ``since <= now - after`` while next_deadline said
    ``since + after``; the two differ in the last bit for some times, and a shell woken at
    the deadline found nothing due, woke again at once, for ever (found by bench_core)."""
    since = 0.010121831643425347
    sched = live_scheduler(Config(window=3, steal_after=0.05), 1)
    run(sched, TasksSubmitted((0,)), ResultsArrived(1, ((0, 1),), since))  # pace known
    assert run(sched, TasksSubmitted((1, 2))) == [SendTasks(1, ((1, 2), (2, 3)))]
    run(sched, WorkerLaunched(2, since), WorkerJoined(2, since))
    deadline = sched.next_deadline()
    assert deadline == since + 0.05
    assert run(sched, Tick(deadline)) == [RevokeTasks(1, ((2, 3),))]


def test_every_event_has_a_handler_and_impossible_events_raise():
    import typing
    from netpool._core.events import Event, InternalError
    assert set(typing.get_args(Event)) == set(Scheduler._HANDLERS)
    sched = live_scheduler(Config(), 1)
    with pytest.raises(InternalError, match="launched twice"):
        sched.handle(WorkerLaunched(1, 0.0))
    with pytest.raises(InternalError, match="does not know"):
        sched.handle(object())


def test_lone_paths_are_taken():
    """The machines above do exercise lone.py (not only its declines): run after them."""
    if not LONE_TAKEN:
        LoneMachine.TestCase("runTest").runTest()
    assert LONE_TAKEN["TasksSubmitted"] > 50 and LONE_TAKEN["ResultsArrived"] > 50, LONE_TAKEN


def test_lone_paths_on_a_task_a_crash_sent_elsewhere():
    """A lone task whose worker crashes goes to the other worker; its result through
    ``result_one`` resolves it and forgets the death, as ``handle`` does."""
    sched = live_scheduler(Config(max_attempts=3), 1, 2)
    got, want = compare_lone(sched, TasksSubmitted((0,)), lambda s: s.submit_one(0),
                             lambda g: [SendTasks(g[0], ((0, g[1]),))])
    assert got == (1, 1) and want == [SendTasks(1, ((0, 1),))]
    assert run(sched, WorkerLost(1)) == [SendTasks(2, ((0, 2),))]
    assert sched.result_one(1, 0, 1, 1.0) is False  # the dead worker's late result
    got, _ = compare_lone(sched, ResultsArrived(2, ((0, 2),), 1.0),
                          lambda s: s.result_one(2, 0, 2, 1.0),
                          lambda g: [Resolve(0, 2, 2)] if g else [])
    assert got is True and sched.idle and not sched._killers


def test_lone_paths_decline_where_handle_does_more():
    """Pending tasks, a close, max_tasks: the lone paths change nothing and say None."""
    sched = live_scheduler(Config(window=1), 1)
    run(sched, TasksSubmitted((0, 1)))  # 1 is pending behind 0
    before = core_state(sched)
    assert sched.submit_one(2) is None and sched.result_one(1, 0, 1, 1.0) is None
    assert core_state(sched) == before
    closing = live_scheduler(Config(), 1)
    run(closing, TasksSubmitted((0,)), Closing())
    assert closing.result_one(1, 0, 1, 1.0) is None
    limited = live_scheduler(Config(max_tasks=5), 1)
    assert limited.submit_one(0) is None


def test_a_wide_window_opens_only_for_tasks_known_to_be_tiny():
    """Issue 9: with 256 workers on 2 cores each wake-up of a worker is cache-cold, so tiny
    tasks are cheaper in wide windows (the pool's cap is 128). But while the pace is unknown
    the window is a guess, kept to 32 so that long tasks are not queued behind each other;
    and the 2 ms of work behind the head still sizes it once the pace is known."""
    for busy, after in ((1e-6, 128), (1e-3, 3)):
        sched = live_scheduler(Config(window=128), 1)
        run(sched, TasksSubmitted(tuple(range(1000))))
        sent = sched.running_on(1)
        assert len(sent) == 32
        attempts = tuple((t, n + 1) for n, t in enumerate(sent))
        run(sched, ResultsArrived(1, attempts, 0.1, busy * len(sent)))
        assert len(sched.running_on(1)) == after, busy


def test_the_cap_binds_in_the_machines():
    """The machines above do reach states where the demand cap keeps workers idle, with
    tasks pending and (BusyMachine) stealable: run after them."""
    if not CAPPED:
        SchedulerMachine.TestCase("runTest").runTest()
        BusyMachine.TestCase("runTest").runTest()
    assert CAPPED["pending"] > 10 and CAPPED["stealable"] > 0, CAPPED


# ------------------------------------------------------------- the demand cap, simulated


def simulate(workers: int, phases, cfg: Optional[Config] = None, per_task: float = 2e-5,
             kill: Optional[tuple] = None):
    """A shell and ``workers`` workers on one clock: each worker runs its queue in order,
    each task taking the phase's seconds (reported as ``busy``); the manager spends
    ``per_task`` seconds on each result, so it hands out at most 1/per_task tasks a second;
    it ticks at ``next_deadline()``. ``phases``: (tasks, seconds each), submitted one after
    the other when the previous is done. ``kill``: (time, worker) to crash once.

    Returns, per phase, the most workers holding tasks at once in its last quarter (those
    served before the first measurement have drained by then), the workers ever sent tasks, and the steps where a live worker sat idle while tasks were
    pending; and the scheduler (idle at the end, every task resolved once)."""
    sched = live_scheduler(cfg or Config(window=128), *range(workers))
    free: dict = {}                         # worker -> when its head task ends
    queues: dict = {w: deque() for w in range(workers)}
    now, next_id, resolved, report = 0.0, 0, Counter(), []
    for tasks, secs in phases:
        ids = tuple(range(next_id, next_id + tasks))
        next_id += tasks
        events: list = [TasksSubmitted(ids)]
        most, served, idle_pending = 0, set(), 0
        while events or any(queues.values()):
            for ev in events:
                for c in sched.handle(ev):
                    if isinstance(c, SendTasks):
                        if not queues[c.worker]:
                            free[c.worker] = now + secs
                        queues[c.worker].extend(c.attempts)
                        served.add(c.worker)
                    elif isinstance(c, Resolve):
                        resolved[c.task] += 1
                    elif isinstance(c, RevokeTasks):  # none started: all come back
                        for a in c.attempts:
                            queues[c.worker].remove(a)
                        events.append(Revoked(c.worker, c.attempts, now))
            events = []
            if resolved[ids[3 * len(ids) // 4]]:
                most = max(most, sched.busy_workers)
            live = [w for w in sched.workers if sched.worker_state(w) == LIVE]
            idle_pending += bool(sched.pending) and any(not queues[w] for w in live)
            busy = [w for w in queues if queues[w]]
            if not busy:
                continue
            w = min(busy, key=free.__getitem__)
            due = sched.next_deadline()
            if kill is not None and kill[0] <= free[w] and kill[1] in busy:
                events.append(WorkerLost(kill[1]))
                queues[kill[1]].clear()
                kill = None
                continue
            if due is not None and due < free[w]:
                now = max(now, due)
                events.append(Tick(now))
                continue
            now = max(free[w], now + per_task)
            t = queues[w].popleft()
            if queues[w]:
                free[w] = now + secs
            events.append(ResultsArrived(w, (t,), now, secs))
        report.append((most, served, idle_pending))
    assert sched.idle and sorted(resolved) == list(range(next_id))
    assert set(resolved.values()) == {1}
    return report, sched


def test_tiny_tasks_on_many_workers_are_served_by_few():
    """Issue 9: 64 workers, tasks of 1 us, a manager that hands out 50,000 a second: by
    Little's law 0.05 workers are busy at once, so after the first measurement the cap is
    the margin and one more (4 + 1), and only that many hold tasks; every task runs once."""
    [(most, served, _)], sched = simulate(64, [(20_000, 1e-6)])
    assert most <= 5, most
    assert sched.demand_cap == 5


def test_long_tasks_keep_every_worker_busy_under_the_cap():
    """Tasks of 0.2 s on 64 workers: every worker is busy, so the cap is above the worker
    count and changes nothing: no worker ever sits idle while a task is pending."""
    [(_, served, idle_pending)], _ = simulate(64, [(64 * 8, 0.2)])
    assert len(served) == 64 and idle_pending == 0


def test_long_tasks_after_tiny_ones_reach_every_worker_once_the_cap_lapses():
    """A cap measured on tiny tasks holds while results come; when the few workers it
    serves start long tasks, results stop, the cap lapses at the deadline the core reports,
    and every idle worker takes work, within ``HOLD_PERIODS`` periods."""
    from netpool._core.demand import HOLD_PERIODS
    cfg = Config(window=128)
    (tiny, long_), sched = simulate(64, [(20_000, 1e-6), (64 * 4, 1.0)], cfg)
    assert tiny[0] <= 5
    assert len(long_[1]) == 64  # every worker ran long tasks
    # the idle steps while pending were only those before the lapse: the simulation ticks
    # once at the lapse, so a handful of steps, not one per task
    assert long_[2] <= 4 * HOLD_PERIODS, long_[2]


def test_a_worker_dying_under_the_cap_has_its_tasks_run_elsewhere():
    [(most, _, _)], sched = simulate(16, [(20_000, 1e-6)], kill=(0.2, 0))
    assert most <= 5 and 0 not in sched.workers


def test_closing_under_the_cap_finishes_and_stops_every_worker():
    """Workers the cap keeps idle are not stopped by a close while tasks pend (they may
    yet be needed), the served ones finish everything, and then every worker is stopped."""
    sched = live_scheduler(Config(window=4, demand_margin=1, demand_period=0.01), 1, 2, 3, 4)
    run(sched, TasksSubmitted((0,)), ResultsArrived(1, ((0, 1),), 0.0, 1e-6))
    run(sched, TasksSubmitted((1,)), ResultsArrived(2, ((1, 2),), 0.02, 1e-6))
    assert sched.demand_cap == 2  # 2e-6 busy seconds in 0.02 s: L ~ 0, the margin and 1
    out = run(sched, TasksSubmitted(tuple(range(2, 40))), Closing())
    assert {c.worker for c in out} == {2, 1}  # the latest idle: the warmest
    assert all(isinstance(c, SendTasks) for c in out)
    now, stopped = 0.02, set()
    while not sched.idle:
        now += 0.001
        for w in (1, 2):
            held = sched.running_on(w)
            if held:
                got = run(sched, ResultsArrived(w, tuple((t, sched._where[t][1]) for t in held),
                                                now, 1e-6 * len(held)))
                assert {c.worker for c in got if isinstance(c, SendTasks)} <= {1, 2}
                stopped |= {c.worker for c in got if isinstance(c, StopWorker)}
    assert stopped == {1, 2, 3, 4}


def test_workers_that_drain_under_the_cap_free_their_places_in_the_same_decision():
    """``max_tasks`` under the demand cap: a worker that takes its last task drains and no
    longer counts against the cap, so the idle are served again at once, not at whatever
    event comes next (the machine found this: invariants e and h)."""
    sched = live_scheduler(Config(window=4, max_tasks=3, demand_margin=1,
                                  demand_period=0.01), 1, 2, 3, 4)
    run(sched, TasksSubmitted((0,)), ResultsArrived(1, ((0, 1),), 0.0, 1e-6))
    run(sched, TasksSubmitted((1,)), ResultsArrived(2, ((1, 2),), 0.02, 1e-6))
    assert sched.demand_cap == 2
    out = run(sched, TasksSubmitted(tuple(range(2, 20))))
    took = {c.worker: len(c.attempts) for c in out if isinstance(c, SendTasks)}
    assert took[1] == took[2] == 2 and sched.worker_state(1) == sched.worker_state(2) == DRAINING
    assert set(took) == {1, 2, 3, 4}, took  # 3 and 4 take the places 1 and 2 gave up
    assert run(copy.deepcopy(sched), Tick(0.02)) == []  # nothing left for the next event
