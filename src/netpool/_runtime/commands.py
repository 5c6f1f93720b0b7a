"""What the shell does for each of the core's commands, and when a worker is lost.

``Commands.table`` maps each command type to its executor; the loop runs the commands that
``Scheduler.handle`` returns through it. A few inbox items that act on the tables (workers
launched, a launch failed, what a submitting thread deferred) are carried out here too. Executors turn commands into I/O (queued sends,
kills, launches) and into *sink calls*, which are collected here and made by the loop thread
after it lets go of the lock. Thread that owns the core only.
"""

from __future__ import annotations

import logging
from math import inf
import time
from typing import Any, Callable, Optional

from .._core import scheduler as S
from .._protocol import messages as M
from ..errors import PoisonTaskError
from . import inbox
from .blobs import Blobs
from .launching import Launching
from .links import Links
from .stats import Counts
from .tasks import TaskTable
from .timeline import Timeline
from .workers import WorkerRec, WorkerTable, begin_kill, stop_supervisors

log = logging.getLogger("netpool")

# Seconds a killed worker's process may take to end (its sentinel) before the loop stops it
# the blocking way; until then a poison failure it caused waits, so that its message can
# name the exit status.
REAP_GRACE = 2.0


def call_sinks(later: list) -> None:
    """Make the sink calls of a round (on the loop thread, outside the lock)."""
    for method, args in later:
        try:
            method(*args)
        except Exception:  # our own result objects; users' callbacks are guarded there
            log.exception("netpool: delivering a result failed")
    later.clear()  # the caller's list would keep results alive until the next round


class Commands:
    def __init__(self, *, sched: S.Scheduler, tasks: TaskTable, workers: WorkerTable,
                 blobs: Blobs, links: Links, launching: Launching,
                 handle: Callable[[Any], None]) -> None:
        self._sched, self._tasks, self._workers = sched, tasks, workers
        self._blobs, self._links, self._launching = blobs, links, launching
        self._handle = handle
        self.later: list = []                 # sink calls decided, for the loop to make
        # A commit in the middle of a round covers the calls made so far (journaled.py).
        tasks.journaled.calls_made = lambda: len(self.later)
        self.results: dict[int, tuple] = {}   # payloads of the RESULTS being handled
        self.counts = Counts()                # for stats(): outcomes as they are decided
        self.timeline: Optional[Timeline] = None  # for reports, when one is asked for
        self._holders: dict[int, set] = {}    # blob id -> the live workers it was sent to
        self._dying: dict[WorkerRec, float] = {}  # killed, process not ended: deadline
        self._parked: list[S.FailTask] = []   # poison failures waiting for a death's record
        self.table: dict[type, Callable[[Any], None]] = {
            S.SendTasks: self.send_tasks, S.Resolve: self.resolve,
            S.RevokeTasks: self.revoke, S.StopWorker: self.stop,
            S.KillWorker: self.kill, S.LaunchReplacement: self.replace,
            S.FailTask: self.fail, S.NoWorkers: self.no_workers,
        }

    def take_later(self, final: bool = False) -> list:
        """The sink calls to make now, their outcomes committed to the journal first. With a
        journal, a round's calls may be held back for a millisecond while other tasks are in
        flight, to share a commit (``JournaledTasks.end_of_round``); ``final``: none are."""
        later, self.later = self.later, []
        return self._tasks.journaled.end_of_round(later, self._sched.in_flight, final)

    def to_sink(self, method: Any, *args: Any) -> None:
        self.later.append((method, args))

    # -- the executors -----------------------------------------------------------------
    def send_tasks(self, cmd: S.SendTasks) -> None:
        """Queue the tasks; the loop flushes each worker's share of a round at once."""
        self.queue_tasks(cmd.worker, cmd.attempts)

    def send_lone(self, tid: int) -> bool:
        """One task, through the core's lone path (``_core/lone.py``): queued as ``SendTasks``
        would queue it, with no event or command built. False if the core declined: then
        ``TasksSubmitted`` decides."""
        sent = self._sched.submit_one(tid)
        if sent is None:
            return False
        self.queue_tasks(sent[0], ((tid, sent[1]),))
        return True

    def queue_tasks(self, worker: int, attempts: tuple) -> None:
        rec = self._workers[worker]
        out = self._links.queue(rec)
        entries, bufs = [], []
        for tid, attempt in attempts:
            t = self._tasks[tid]
            if t.blob and t.blob not in rec.blobs:
                out.append(((M.DEFINE, t.blob, self._blobs.data(t.blob)), ()))
                rec.blobs.add(t.blob)
                self._holders.setdefault(t.blob, set()).add(rec)
            entries.append((tid, attempt, t.kind, t.blob, t.payload, len(t.bufs)))
            bufs += t.bufs
        out.append(((M.TASKS, entries, [memoryview(b).nbytes for b in bufs]), bufs))
        if self.timeline is not None:
            idle = len(self._sched.running_on(worker)) == len(attempts)
            self.timeline.sent(worker, idle, time.monotonic())

    def forget_blobs(self) -> None:
        """Tell the workers that hold them of the callables the registry let go (FORGET)."""
        gone = self._blobs.take_forgotten()
        if not gone:
            return
        per: dict[WorkerRec, list[int]] = {}
        for bid in gone:
            for rec in self._holders.pop(bid, ()):
                rec.blobs.discard(bid)
                per.setdefault(rec, []).append(bid)
        for rec, bids in per.items():
            self._links.queue(rec).append(((M.FORGET, bids), ()))

    def resolve(self, cmd: S.Resolve) -> None:
        self.resolved(cmd.task, cmd.worker, *self.results.pop(cmd.task))

    def resolved(self, tid: int, worker: int, status: int, payload: bytes, bufs: list) -> None:
        """The core accepted this result (``Resolve``, or the lone path): to the sinks."""
        task = self._tasks.resolve(tid)
        self.counts.resolved(worker, status, payload)
        label = self._workers[worker].label()
        self.later.append((task.sink._deliver, (tid, status, payload, bufs, label)))
        if self.timeline is not None:
            self.timeline.resolved(worker, status == M.OK, time.monotonic())
            if status == M.RAISED:
                self.timeline.raised(label, tid, payload)
        self._tasks.journaled.resolved(task, status, payload, bufs)

    def fail_task(self, task: Any, exc: BaseException) -> None:
        """Hand a task's failure to its sink; it is not journaled (``withdrawn``)."""
        self.counts.manager_failed(exc)
        if self.timeline is not None:
            poison = isinstance(exc, PoisonTaskError)
            cause = "poison" if poison else f"manager: {type(exc).__name__}"
            self.timeline.failed_here(cause, task.id, f"{type(exc).__name__}: {exc}")
        self.to_sink(task.sink._fail, task.id, exc)
        self._tasks.journaled.withdrawn(task)

    def revoke(self, cmd: S.RevokeTasks) -> None:
        self._links.send(self._workers[cmd.worker], (M.REVOKE, list(cmd.attempts)))

    def stop(self, cmd: S.StopWorker) -> None:
        rec = self._workers[cmd.worker]
        rec.stopping = True
        self._links.send(rec, (M.STOP,))

    def kill(self, cmd: S.KillWorker) -> None:
        rec = self._workers.get(cmd.worker)
        if rec is not None:
            rec.lost_reason = cmd.reason
            self.forget(rec, kill=False)
            self._end_process(rec)

    def replace(self, cmd: S.LaunchReplacement) -> None:
        log.info("netpool: launching a replacement for worker %d", cmd.worker)
        if self.timeline is not None:
            self.timeline.event(cmd.worker, "replacement", "a replacement was launched",
                                time.monotonic())
        self._launching.replace(cmd.worker)

    def fail(self, cmd: S.FailTask) -> None:
        if any(r.id in cmd.killers for r in self._dying):  # its message names their deaths
            self._parked.append(cmd)
            return
        task = self._tasks.resolve(cmd.task)
        if task is None:  # failed meanwhile (terminated)
            return
        what = self._blobs.name(task.blob) if task.kind != M.CONTEXT else "a context task"
        exc = self._workers.poison_error(cmd.task, what, cmd.killers)
        log.info("netpool: poison task: %s", str(exc).partition("\n")[0])
        self.fail_task(task, exc)

    def no_workers(self, cmd: S.NoWorkers) -> None:
        if self._dying:  # the error lists the last deaths: wait for theirs (``_died``)
            self._parked.append(cmd)
            return
        pending = set(self._sched.pending)  # parked, it may have been taken meanwhile
        cmd = S.NoWorkers(tuple(t for t in cmd.pending if t in pending), cmd.ever_joined)
        exc = self._workers.no_workers_error(cmd.ever_joined, self._launching.address)
        self._handle(S.TasksWithdrawn(cmd.pending))
        for tid in cmd.pending:
            task = self._tasks.resolve(tid)
            if task is not None:
                self.fail_task(task, exc)

    # -- inbox items that act on the tables ------------------------------------------
    def launched(self, item: inbox.Launched) -> None:
        if item.array is not None:
            self._launching.arrays.append(item.array)
        now = time.monotonic()
        for rec in item.recs:
            self._workers.add(rec)
            log.info("netpool: launched worker %d (%r)", rec.id, rec.launcher)
            if self.timeline is not None:
                self.timeline.event(rec.id, "launched", repr(rec.launcher), now, rec.label())
            self._handle(S.WorkerLaunched(rec.id, now))

    def launch_failed(self, item: inbox.LaunchFailed) -> None:
        for rec in item.recs:
            if not rec.gone:
                if self.timeline is not None:
                    self.timeline.event(rec.id, "start failed", "its launch failed",
                                        time.monotonic())
                self.forget(rec, kill=False)
                self._handle(S.WorkerLost(rec.id, False))

    def started(self, item: inbox.Started) -> None:
        for rec in item.recs:
            if rec.gone or rec.ready or self._links.watch_exit(rec):
                continue
            if rec.exit_status() is not None:
                self.lost(rec)  # it ended before it could be watched: a failed start
            elif getattr(rec.launcher, "pid", None) is not None:
                self._workers.polled.add(rec)  # no sentinel: poll while it starts

    def exited(self, rec: WorkerRec) -> None:
        """Its local process ended (the sentinel fired): a failed start if it never joined;
        else its link's end tells, with what it had sent before."""
        self._links.unwatch_exit(rec)
        if rec in self._dying:  # its link broke first (``lost``), and it was killed
            rec.exit_status()  # it has ended: reaped without blocking
            self._died(rec)
        elif not rec.ready and not rec.gone:
            self.lost(rec)

    def deferred(self, item: inbox.Deferred) -> None:
        """What a submitting thread left to the loop (see ``Runtime._submit_here``)."""
        self.later += item.sinks
        for cmd in item.commands:
            self.table[type(cmd)](cmd)
        for rec in item.broken:
            self.lost(rec)

    # -- losing workers ----------------------------------------------------------------
    def lost(self, rec: WorkerRec) -> None:
        """Its link broke (or it exited before connecting): forget it and tell the core.
        The core's ``KillWorker`` (silent, or past ``task_timeout``) ends a process the same way.

        A local process that has not ended yet is killed without waiting: the core is told
        now (its tasks go back to the queue at once), and its death is recorded once its
        sentinel says it ended (``exited``), with the exit status that error messages name;
        at the latest ``REAP_GRACE`` seconds later (``dying_due``). The loop never blocks in
        ``waitpid`` for it."""
        if rec.gone:
            return
        graceful = rec.stopping
        self.forget(rec, kill=False)  # reaps it if it has ended: never blocks
        if not graceful:
            self._end_process(rec)
        running, poison = self._sched.running_on(rec.id), self.counts.poison
        self._handle(S.WorkerLost(rec.id, graceful))
        requeued = len(running) - (self.counts.poison - poison)
        if requeued > 0:
            log.info("netpool: %d task(s) that were on worker %d go back to the queue",
                     requeued, rec.id)
        self._workers.lost_launchers.pop(rec.id, None)  # not replaced (closing, or no work left)

    def _end_process(self, rec: WorkerRec) -> None:
        """Kill a forgotten worker's process and record its death: once its sentinel says it
        ended where it has one (the loop never waits for it), else the brief blocking way."""
        if (rec.exit_status() is None and getattr(rec.launcher, "_reap", None) is not None
                and self._links.watch_exit(rec)):
            begin_kill(rec)
            self._dying[rec] = time.monotonic() + REAP_GRACE
            return
        if rec.exit_status() is None and rec.launcher is not None:
            stop_supervisors([rec])  # no sentinel to wait on: briefly blocking
            rec.launcher._stop()
        self._record_death(rec)

    def dying_until(self) -> float:
        """When the loop must call ``dying_due`` (inf: no killed process is awaited)."""
        return min(self._dying.values()) if self._dying else inf

    def dying_due(self, now: float) -> None:
        """Processes killed ``REAP_GRACE`` ago that have still not ended: stop them the
        blocking way (past SIGKILL for that long, a process is stuck in the kernel)."""
        for rec in [r for r, t in self._dying.items() if now >= t]:
            self._links.unwatch_exit(rec)
            if rec.exit_status() is None and rec.launcher is not None:
                stop_supervisors([rec])
                rec.launcher._stop()
            self._died(rec)

    def _died(self, rec: WorkerRec) -> None:
        """A killed process has ended: record how, then give the poison failures that waited
        for it (their messages name every death) to their sinks."""
        del self._dying[rec]
        if rec.launcher is not None and rec.exit_status() is not None:
            rec.launcher._stop()  # it has ended: only the launcher's own bookkeeping
        self._record_death(rec)
        parked, self._parked = self._parked, []
        for cmd in parked:
            self.table[type(cmd)](cmd)

    def joined(self, rec: WorkerRec, now: float) -> None:
        """Its READY arrived (``Reading``): for the timeline only."""
        if self.timeline is not None:
            self.timeline.event(rec.id, "joined", rec.label(), now, rec.label())

    def _record_death(self, rec: WorkerRec) -> None:
        how = self._workers.record_death(rec)
        log.warning("netpool: %s", how)
        if self.timeline is not None:
            self.timeline.event(rec.id, "died", how, time.monotonic())
        self.counts.died(rec.exit_status(), rec.lost_reason)

    def forget(self, rec: WorkerRec, kill: bool) -> None:
        """Drop its links; stop its process if ``kill``, else reap it if it has exited."""
        if not rec.gone:
            self.counts.gone(rec.id)
            if self.timeline is not None:
                if rec.stopping:
                    self.timeline.event(rec.id, "stopped", "it stopped", time.monotonic())
                # Now, while the core still has its tasks (its death may be recorded later).
                self.timeline.left(rec.id, rec.stopping, bool(self._sched.running_on(rec.id)),
                                   time.monotonic())
        for bid in rec.blobs:
            self._holders.get(bid, set()).discard(rec)
        self._workers.remove(rec, replace=self._sched.config.replace)
        self._links.unwatch_exit(rec)
        for chan in (rec.chan, rec.beat):
            if chan is not None:
                self._links.drop(chan)
        if kill and rec.launcher is not None:
            stop_supervisors([rec])
            rec.launcher._stop()
        else:
            rec.exit_status()  # reaps a child that has exited; never blocks the loop

    def fail_everything(self, exc: BaseException) -> None:
        for task in self._tasks.resolve_all():
            self.fail_task(task, exc)

    def kill_all(self) -> None:
        idle = frozenset(r.id for r in self._workers if not self._sched.running_on(r.id))
        stop_supervisors(self._workers.values(), idle=idle)  # all at once, then each worker
        recs = list(self._workers)
        for rec in recs:
            rec.stopping = True
            self.forget(rec, kill=False)
        # Every link is down before any launcher is stopped, so remote workers end together
        # and an ssh client's grace to relay their last output (launchers/ssh.py) overlaps.
        for rec in recs:
            if rec.launcher is not None:
                rec.launcher._stop()
        for rec in list(self._dying):  # killed already; reaped here, so no zombie is left
            self._links.unwatch_exit(rec)
            if rec.launcher is not None:
                rec.launcher._stop()
        self._dying.clear()
