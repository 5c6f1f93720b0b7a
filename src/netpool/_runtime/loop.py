"""The loop thread: owns the Scheduler, turns I/O into events and commands into I/O.

Data flow::

    user threads ──submit/launch/close──> inbox + wake-up pipe ─┐
    accept thread ──authenticated HELLO──> inbox ───────────────┤
    worker sockets ──RESULTS/REVOKED/READY/BEAT──> selector ────┴─> loop thread
        loop thread: event -> Scheduler.handle -> commands -> TASKS/REVOKE/STOP, sink calls

This module keeps the select, the reading, and two dispatch tables: inbox items to their
handlers, the core's commands to their executors (``commands``). Beside it: ``inbox``,
``tasks`` and ``workers`` (the tables), ``blobs``, ``links``, ``reading``, ``admission``,
``launching``. The loop thread owns the core; how others may touch it (a direct submit
under ``_lock``) is in docs/architecture.md, "One owner of the core". The loop sleeps
until a socket or the inbox is ready, the core's ``next_deadline``, or the next ping.
"""

from __future__ import annotations

import atexit
import logging
import os
import selectors
import sys
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Optional

from .. import errors
from .._core import scheduler as S
from . import failures, forks, inbox, reading
from .admission import Admission, beat_interval
from .blobs import Blobs
from .launching import Launching
from .commands import Commands, call_sinks
from .links import Links
from .listener import Acceptor, bind, bind_local
from .tasks import Journal, Task, TaskTable
from .adaptive import Adapting
from .observing import Observing
from .timeline import Timelined
from .walltimes import Walltimed
from .withdrawal import Withdrawal
from .workers import WorkerTable

__all__ = ["Runtime", "Task"]

log = logging.getLogger("netpool")

# What a submitting thread never does itself (kill, reap, launch): the loop thread's alone.
_LOOP_ONLY = frozenset({S.KillWorker, S.LaunchReplacement})

_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


@atexit.register
def _terminate_all() -> None:
    for rt in list(_live_runtimes):
        rt.terminate(wait=1.0)


class Runtime(Observing, Withdrawal, Walltimed, Adapting, reading.Reading, Timelined):
    """A listening manager: workers connect to it, tasks go out, results come back.

    Thread-safe entry points: ``launch``, ``define``, ``submit``, ``withdraw``, ``configure``,
    ``close``, ``terminate``, ``join``, ``record_timeline``, ``promise``/``kept``, and the
    read-only ``config``, ``window``, ``worker_count``, ``stats``, ``timeline``,
    ``on_loop_thread`` (observing.py has the views). Sinks are called on the loop thread,
    outside ``_lock``, at the end of the round that decided them:
    ``sink._deliver(task_id, status, payload, buffers, worker_label)`` and
    ``sink._fail(task_id, exception)``. ``fork``: ``Launching.fork``; ``environment``: what
    the journal counts of the workers' setup (``journaled.environment_of``).
    """

    def __init__(self, *, host: str = "127.0.0.1", authkey: Optional[bytes] = None,
                 python: tuple[str, ...] = (sys.executable,), config: S.Config,
                 initializer: Optional[bytes] = None, output: Optional[str] = None,
                 addresses: Optional[list[str]] = None, journal: Optional[Journal] = None,
                 environment: Optional[bytes] = b"", fork: Optional[Callable] = None) -> None:
        # os.urandom is what secrets.token_bytes calls, without importing secrets (8 ms).
        self.authkey = authkey if authkey is not None else os.urandom(32)
        if not isinstance(self.authkey, bytes):
            raise TypeError("authkey must be bytes")
        self._sched = S.Scheduler(config)
        self._tasks = TaskTable(journal, environment)
        self._workers = WorkerTable()
        self._blobs = Blobs(on_new=self._tasks.journaled.define)
        self._inbox = inbox.Waker()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._inbox.fd, selectors.EVENT_READ, None)
        self._links = Links(self._sel, lambda: beat_interval(self._sched.config))
        self.failure: Optional[BaseException] = None  # what killed the loop thread, if it died
        self.on_failure: Optional[Any] = None  # called (no arguments) on the loop thread then
        self._events: deque = deque()  # follow-up events, handled once the batch is done
        self._handling = False
        self._direct = False           # handling on a submitting thread (_submit_here)
        self._deferred: list = []      # commands that thread leaves to the loop
        self._closing = False
        self._terminated = False
        self._lock = threading.Lock()
        self._running = True  # the loop takes work; False once it has ended
        self._sleep_until = self._next_beat = time.monotonic()
        self._sock, self._local = bind(host), bind_local()  # TCP; AF_UNIX for forked workers
        # Listening on `host`, workers are told `addresses` (best first; launchers.address).
        self.addresses: list[str] = list(addresses or [host])
        self.address: tuple[str, int] = (self.addresses[0], self._sock.getsockname()[1])
        self._launching = Launching(python=python, address=self.address, authkey=self.authkey,
                                    output=output, workers=self._workers, post=self._inbox.post,
                                    fallbacks=tuple(self.addresses[1:]), fork=fork,
                                    local=self._local and (self._local[1], 0))
        self._cmds = Commands(sched=self._sched, tasks=self._tasks, workers=self._workers,
                              blobs=self._blobs, links=self._links, launching=self._launching,
                              handle=self._handle)
        self._execute = self._cmds.table  # command type -> its executor
        self._observing_init()
        self._admission = Admission(workers=self._workers, links=self._links,
                                    config=lambda: self._sched.config, initializer=initializer,
                                    handle=self._handle, lost=self._cmds.lost,
                                    status=self._status_link, forward=self._forwards)
        self._on_item: dict[type, Callable[[Any], None]] = {
            inbox.Submit: self._on_submit, inbox.Hello: self._admission.on_hello,
            inbox.Launched: self._cmds.launched, inbox.LaunchFailed: self._cmds.launch_failed,
            inbox.Started: self._cmds.started, inbox.CoreEvent: self._on_core_event,
            inbox.Close: self._on_close, inbox.Terminate: self._on_terminate,
            inbox.Deferred: self._cmds.deferred,
        }
        # on_hello runs on a handshake thread: the authenticated link goes to the loop.
        self._acceptor = Acceptor(self._sock, self.authkey,
                                  lambda *link: self._inbox.post(inbox.Hello(*link)),
                                  local=self._local and self._local[0])
        self._thread = threading.Thread(target=self._run, name="netpool-loop", daemon=True)
        self._thread.start()
        _live_runtimes.add(self)
        forks.own(self)

    # -- thread-safe API ---------------------------------------------------------------
    @property
    def config(self) -> S.Config:
        """The core's configuration (read-only: change it with ``configure``)."""
        return self._sched.config

    @property
    def window(self) -> int:
        """The most tasks in flight per worker."""
        return self._sched.config.window

    def on_loop_thread(self) -> bool:
        """True when called from the loop thread (in a sink or a callback)."""
        return threading.current_thread() is self._thread

    def task_ids(self, n: int) -> list[int]:
        return self._tasks.new_ids(n)

    def define(self, obj: Any, data: Optional[bytes] = None) -> int:
        """A blob id for a callable, shared by every task that uses it (same bytes, same id),
        held until ``release``: give it back once the tasks using it are submitted (blobs.py).

        Raises what pickling it raises."""
        return self._blobs.define(obj, data)

    def release(self, blob: int) -> None:
        """Give back the hold of ``define``; the callable goes once no task uses it."""
        self._blobs.release(blob)

    def submit(self, tasks: list[Task], hold: int = 0) -> None:
        # Sent from here if the loop is idle and nothing is queued before us (one thread's
        # tasks keep their order). Never waits for the lock: the loop may be in a callback.
        self._blobs.retain(tasks, hold)  # before others see them; then define's hold goes
        if self.failure is not None:  # nobody would ever take them
            return failures.refuse(tasks, self.failure)
        if not self._inbox and self._lock.acquire(blocking=False):
            try:
                if not self._inbox and self._running:
                    self._submit_here(tasks)
                    return
            finally:
                self._lock.release()
        self._inbox.post(inbox.Submit(tasks))
        if self.failure is not None:  # it died meanwhile, perhaps after its last look
            failures.refuse_posted(self._inbox, self.failure)

    def _submit_here(self, tasks: list[Task]) -> None:
        """Accept and send on the caller's thread (under the lock, the loop asleep).

        Only bookkeeping and sends happen here: a send that fails, sink calls, and any
        command that kills or launches go to the loop thread, which owns what follows.
        """
        self._direct = True
        try:
            lone = self._accept(tasks)
        finally:
            self._direct = False
        self._hand_over(lone)

    def _hand_over(self, lone: bool = False) -> None:
        """Off the loop thread, under the lock: send what was decided, leave to the loop what
        only it may do (failed sends, sinks, kills, launches). ``lone``: no deadline moved."""
        self._links.flush()
        broken, deferred = self._links.take_broken(), self._deferred
        if broken or deferred or self._cmds.later:
            self._deferred = []
            self._inbox.post(inbox.Deferred(self._cmds.take_later(), broken, deferred))
        elif not lone and (self._sched.next_deadline() or self._sleep_until) < self._sleep_until:
            self._inbox.wake()  # a submit moves no deadline but the core's (a steal)

    def launch(self, launcher: Any) -> None:
        """Start a Worker or WorkerArray now, on the caller's thread.

        Raises what the launcher raises (``LauncherError`` when e.g. ``sbatch`` is missing).
        """
        self._launching.launch(launcher)

    def worker_command(self) -> str:
        """The command that joins another worker to this runtime, from any machine."""
        return self._launching.worker_command()

    def configure(self, heartbeat_timeout: float, connect_timeout: float) -> None:
        self._inbox.post(inbox.CoreEvent(S.Configured(float(heartbeat_timeout),
                                                      float(connect_timeout))))

    def close(self) -> None:
        """Finish every task, then stop the workers; ``join`` waits for that."""
        self._inbox.post(inbox.Close())

    def terminate(self, wait: Optional[float] = None, why: str = "the pool was terminated") -> None:
        """Stop every worker now (local processes killed, batch jobs cancelled).

        Tasks not yet done fail with ``netpool.Error(why)``.
        """
        if self._thread.is_alive():
            self._inbox.post(inbox.Terminate(why))
            self._thread.join(wait)

    def join(self, timeout: Optional[float] = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def worker_count(self, starting: bool = False) -> int:
        """Workers connected now; with ``starting``, those launched not READY yet (any thread)."""
        if starting:  # their initializer still runs
            return sum(1 for state in list(self._sched.workers.values()) if state == "starting")
        return self._workers.count_ready()

    # -- the loop ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:
            log.exception("netpool: the manager loop failed; stopping all workers")
            self.failure = exc  # from now on every submit fails at once (a dead loop is loud)
            with self._lock:
                self._running = False
                self._cmds.fail_everything(failures.error(exc))
                self._cmds.kill_all()
                later = self._cmds.take_later(final=True)
            call_sinks(later)
            failures.refuse_posted(self._inbox, exc)
            if self.on_failure is not None:
                self.on_failure()
        finally:
            self._shutdown()

    def _loop(self) -> None:
        while True:
            ready = self._sel.select(max(0.0, self._sleep_until - time.monotonic()))
            with self._lock:
                self._running = self._round(ready)
                later = self._cmds.take_later(final=not self._running)
                if self._running:  # planned first: a caller woken by a sink gets the GIL
                    self._sleep_until = self._wake_deadline()  # as soon as we are in select
            # Outside the lock, so that a callback may submit without waiting for us.
            call_sinks(later)
            if not self._running:
                return

    def _round(self, ready: list) -> bool:
        """Handle what woke the loop, ticking if a deadline is due; False when the loop is done."""
        for key, _ in ready:
            if key.data is None:
                self._inbox.drain_pipe()
            else:  # a worker's link, or (rec, None): its local process's sentinel
                self._read(*key.data) if key.data[1] else self._cmds.exited(key.data[0])
        self._drain_inbox()
        if self._terminated:
            return False
        self._settle()
        now = time.monotonic()
        if now >= self._sleep_until:
            for rec in self._workers.exited_before_joining():
                self._cmds.lost(rec)  # a failed start: say so now
            self._cmds.dying_due(now)
            self._handle(S.Tick(now))
            self._walltime_tick(now)
            self._adapt_tick(now)
            self._settle()
            if now >= self._next_beat:
                self._next_beat = self._links.ping_due(now)
        # Starting workers are waited for (join, initializer, stop) or time out, as the stdlib's.
        return not (self._closing and self._sched.idle and not self._workers)

    def _wake_deadline(self) -> float:
        """When the loop must wake even if nothing happens (monotonic seconds)."""
        now = time.monotonic()
        deadline = self._sched.next_deadline()
        until = min(self._next_beat, deadline or self._next_beat, self._tasks.journaled.due(),
                    self._walltime_next(), self._adapt_next(), self._cmds.dying_until())
        if self._workers.polled:  # notice at once a local worker that died starting
            until = min(until, now + 0.05)
        return max(until, now + 0.001)  # never spin, even on a deadline already due

    def _drain_inbox(self) -> None:
        box, on_item = self._inbox, self._on_item
        while not self._terminated:
            item = box.pop()
            if item is None:
                return
            on_item[type(item)](item)

    def _handle(self, event: Any) -> None:
        """Hand ``event`` to the core and carry out its commands.

        Never re-entered: an event that executing a command gives rise to (a worker lost on
        a failed send, tasks withdrawn) waits until the current batch of commands is done.
        """
        self._events.append(event)
        if self._handling:
            return
        self._handling = True
        try:
            events, handle, execute = self._events, self._sched.handle, self._execute
            while events:
                for cmd in handle(events.popleft()):
                    if self._direct and type(cmd) in _LOOP_ONLY:
                        self._deferred.append(cmd)
                    else:
                        execute[type(cmd)](cmd)
        finally:
            self._handling = False
            self._events.clear()

    def _settle(self) -> None:
        """Send all that was decided, then handle the links found broken doing so, and
        again, until nothing is left: a task re-queued by a broken link goes out now."""
        links = self._links
        self._cmds.forget_blobs()
        while True:
            links.flush()
            broken = links.take_broken()
            if not broken:
                return
            for rec in broken:
                self._cmds.lost(rec)

    # -- inbox items -------------------------------------------------------------------
    def _on_submit(self, item: inbox.Submit) -> None:
        self._accept(item.tasks)

    def _accept(self, tasks: list[Task]) -> bool:  # True: the core's lone path took them
        ids = self._tasks.accept(tasks, self._cmds.to_sink)
        if len(ids) == 1 and self._cmds.send_lone(ids[0]):  # sequential apply's path
            return True
        self._handle(S.TasksSubmitted(ids))
        return False

    def _on_core_event(self, item: inbox.CoreEvent) -> None:
        self._handle(item.event)

    def _on_close(self, item: inbox.Close) -> None:
        self._closing = True
        self._handle(S.Closing())

    def _on_terminate(self, item: inbox.Terminate) -> None:
        self._terminated = True
        self._cmds.fail_everything(errors.Error(item.why))
        self._cmds.kill_all()

    # -- ending ------------------------------------------------------------------------
    def _disown(self) -> None:
        """In a forked child: close our copies of the parent's links (forks.close_copies)."""
        self._running, self._terminated = False, True
        _live_runtimes.discard(self)
        self._links.forget_sentinels()
        forks.close_copies([self._sock] + self._links.sockets(), self._sel, self._inbox)

    def _shutdown(self) -> None:
        _live_runtimes.discard(self)
        forks.release(self)  # before closing: a later child must not close reused numbers
        self._acceptor.close()
        self._observing_close()
        self._cmds.kill_all()
        self._tasks.journaled.close()
        self._launching.shutdown()
        self._sel.close()
        self._inbox.close()
