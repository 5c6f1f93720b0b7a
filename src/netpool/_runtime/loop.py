"""The loop thread: owns the Scheduler, turns I/O into events and commands into I/O.

Data flow::

    user threads ──submit/launch/close──> inbox + wake-up pipe ─┐
    accept thread ──authenticated HELLO──> inbox ───────────────┤
    worker sockets ──RESULTS/REVOKED/READY/BEAT──> selector ────┴─> loop thread
        loop thread: event -> Scheduler.handle -> commands -> TASKS/REVOKE/STOP, sink calls

The Scheduler, the task table and the worker table are touched under ``_lock`` only, which
the loop thread holds while it handles what it woke up for. A thread that submits tasks while
the loop sleeps takes the lock itself and sends them at once: waking the loop thread to do it
would cost a thread hand-off, a fifth of a small ``apply``'s round trip. Everything else goes
through the inbox. Results are handed to each task's *sink* (the facade's result object) on
the loop thread, which is where callbacks run.

The loop sleeps until the next thing that needs it: a socket or the inbox, the Scheduler's
``next_deadline`` (a timeout or a steal), the next heartbeat ping.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import selectors
import sys
import threading
import time
import weakref
from types import FunctionType as _FunctionType
from collections import deque
from typing import Any, Optional

from .. import errors
from .._core import scheduler as S
from .._protocol import codec
from .._protocol import messages as M
from .._transport.channel import DEFAULT_MAX_FRAME, set_io_timeouts
from .._transport.handshake import finish
from ..launchers.base import KEY_FILE, WorkerArray, WorkerCommand, write_key_file
from . import forks
from .listener import Acceptor, bind
from .workers import WorkerRec

log = logging.getLogger("netpool")

_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


@atexit.register
def _terminate_all() -> None:
    for rt in list(_live_runtimes):
        rt.terminate(wait=1.0)


class Task:
    """One unit of work as the shell sees it; the core sees only ``id``."""

    __slots__ = ("id", "kind", "blob", "payload", "bufs", "sink")

    def __init__(self, id: int, kind: int, blob: int, payload: bytes, bufs: list, sink: Any):
        self.id, self.kind, self.blob = id, kind, blob
        self.payload, self.bufs, self.sink = payload, bufs, sink


class Runtime:
    """A listening manager: workers connect to it, tasks go out, results come back.

    Thread-safe entry points: ``launch``, ``define``, ``submit``, ``configure``, ``close``,
    ``terminate``, ``join``. Sinks are called on the loop thread, outside ``_lock``, at the
    end of the round that decided them:
    ``sink._deliver(task_id, status, payload, buffers, worker_label)`` and
    ``sink._fail(task_id, exception)``.
    """

    def __init__(self, *, host: str = "127.0.0.1", authkey: Optional[bytes] = None,
                 python: tuple[str, ...] = (sys.executable,), config: S.Config,
                 initializer: Optional[bytes] = None, output: Optional[str] = None,
                 addresses: Optional[list[str]] = None) -> None:
        # os.urandom is what secrets.token_bytes calls, without importing secrets (8 ms).
        self.authkey = authkey if authkey is not None else os.urandom(32)
        if not isinstance(self.authkey, bytes):
            raise TypeError("authkey must be bytes")
        self.python = python
        self.output = output          # %-pattern for worker output files, or None
        self._init = initializer
        self._sched = S.Scheduler(config)
        self._tasks: dict[int, Task] = {}
        self._workers: dict[int, WorkerRec] = {}
        self._arrays: list[WorkerArray] = []
        self._worker_ids = itertools.count()
        self._task_ids = itertools.count()
        self._blob_ids = itertools.count(1)
        self._blobs: dict[int, bytes] = {}
        self._blob_by_bytes: dict[bytes, int] = {}
        self._blob_names: dict[int, str] = {}  # for error messages: which function
        self._blob_lock = threading.Lock()
        self._blob_by_func = weakref.WeakKeyDictionary()
        self._inbox: deque = deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._woken = False
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._closing = False
        self._terminated = False
        self._lock = threading.Lock()
        self._later: list = []  # sink calls decided under the lock, made after it
        self._running = True  # the loop takes work; False once it has ended
        self._sleep_until = self._next_beat = time.monotonic()
        self._results: dict[int, tuple] = {}   # payloads of the message being handled
        self._outgoing: dict[WorkerRec, list] = {}  # messages decided this round, per worker
        self._lost_launchers: dict[int, Any] = {}   # launchers of lost workers, to replace
        self._keydir: Optional[str] = None
        self._dead: dict[int, str] = {}        # how each lost worker ended, for error messages
        self._dead_tails: dict[int, str] = {}  # ... and its output, if it never connected
        self._sock = bind(host)
        # Listening on `host`, workers are told `addresses` (best first; launchers.address).
        self.addresses: list[str] = list(addresses or [host])
        self.address: tuple[str, int] = (self.addresses[0], self._sock.getsockname()[1])
        self._acceptor = Acceptor(self._sock, self.authkey, self._on_hello)
        self._thread = threading.Thread(target=self._run, name="netpool-loop", daemon=True)
        self._thread.start()
        _live_runtimes.add(self)
        forks.own(self)

    # -- thread-safe API ---------------------------------------------------------------
    def task_ids(self, n: int) -> list[int]:
        return [next(self._task_ids) for _ in range(n)]

    def define(self, obj: Any, data: Optional[bytes] = None) -> int:
        """A blob id for a callable, shared by every task that uses it (same bytes, same id).

        A plain module-level function pickles by reference to the same bytes every time, so
        its id is cached by identity: cloudpickle costs ~25 us, a third of a small ``apply``.
        """
        cacheable = (data is None and type(obj) is _FunctionType and obj.__closure__ is None
                     and obj.__module__ != "__main__")
        if cacheable:
            bid = self._blob_by_func.get(obj)
            if bid is not None:
                return bid
        data = codec.dumps_callable(obj) if data is None else data
        with self._blob_lock:
            bid = self._blob_by_bytes.get(data)
            if bid is None:
                bid = self._blob_by_bytes[data] = next(self._blob_ids)
                self._blobs[bid] = data
                self._blob_names[bid] = getattr(obj, "__qualname__", None) or type(obj).__name__
            if cacheable:
                self._blob_by_func[obj] = bid
            return bid

    def submit(self, tasks: list[Task]) -> None:
        # Sent from this thread when the loop is not busy and nothing is queued before us
        # (so one thread's tasks keep their order); otherwise the loop takes them in turn.
        # Never blocks on the lock: the loop thread may be running a user's callback.
        if not self._inbox and self._lock.acquire(blocking=False):
            try:
                if not self._inbox and self._running:
                    self._accept(tasks)
                    self._flush_outgoing()
                    if self._later:  # e.g. NoWorkers: sinks are for the loop thread to call
                        self._inbox.append(("sinks", self._later))
                        self._later = []
                        self._wake()
                    elif self._wake_deadline() < self._sleep_until:
                        self._wake()
                    return
            finally:
                self._lock.release()
        self._post(("submit", tasks))

    def _accept(self, tasks: list[Task]) -> None:
        for t in tasks:
            self._tasks[t.id] = t
        self._handle(S.TasksSubmitted(tuple(t.id for t in tasks)))

    def launch(self, launcher: Any) -> None:
        """Start a Worker or WorkerArray now, on the caller's thread.

        Raises what the launcher raises (``LauncherError`` when e.g. ``sbatch`` is missing).
        """
        is_array = isinstance(launcher, WorkerArray)
        recs = [self._new_rec(w) for w in (launcher._get_workers() if is_array else [launcher])]
        cmds = [self._command(r, launcher.key_delivery) for r in recs]
        # Registered before the start, so that even a very quick worker finds its record.
        self._post(("launched", (launcher if is_array else None, recs)))
        try:
            launcher._start(cmds if is_array else cmds[0], self.authkey)
        except BaseException:
            self._post(("launch_failed", recs))
            raise

    def configure(self, heartbeat_timeout: float, connect_timeout: float) -> None:
        self._post(("event", S.Configured(float(heartbeat_timeout), float(connect_timeout))))

    def close(self) -> None:
        """Finish every task, then stop the workers; ``join`` waits for that."""
        self._post(("close", None))

    def terminate(self, wait: Optional[float] = None, why: str = "the pool was terminated") -> None:
        """Stop every worker now (local processes killed, batch jobs cancelled).

        Tasks not yet done fail with ``netpool.Error(why)``.
        """
        if self._thread.is_alive():
            self._post(("terminate", why))
            self._thread.join(wait)

    def join(self, timeout: Optional[float] = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def worker_count(self) -> int:
        return sum(1 for w in list(self._workers.values()) if w.ready and not w.gone)

    def _post(self, item: tuple) -> None:
        self._inbox.append(item)
        self._wake()

    def _wake(self) -> None:
        if not self._woken:
            self._woken = True
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass

    # -- the loop ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:
            log.exception("netpool: the manager loop failed; stopping all workers")
            with self._lock:
                self._running = False
                self._fail_everything(errors.Error("the netpool manager loop failed; see the log"))
                self._kill_all()
                later, self._later = self._later, []
            self._call_sinks(later)
        finally:
            self._shutdown()

    def _loop(self) -> None:
        while True:
            ready = self._sel.select(max(0.0, self._sleep_until - time.monotonic()))
            with self._lock:
                self._running = self._round(ready)
                later, self._later = self._later, []
            # Outside the lock, so that a callback may submit without waiting for us, and
            # before planning the next sleep, so that a woken caller waits less for the GIL.
            self._call_sinks(later)
            if not self._running:
                return
            with self._lock:
                self._sleep_until = self._wake_deadline()

    @staticmethod
    def _call_sinks(later: list) -> None:
        for method, args in later:
            try:
                method(*args)
            except Exception:  # our own result objects; users' callbacks are guarded there
                log.exception("netpool: delivering a result failed")
        later.clear()  # the caller's list would keep results alive until the next round

    def _round(self, ready: list) -> bool:
        """Handle what woke the loop, ticking if a deadline is due; False when the loop is done."""
        for key, _ in ready:
            if key.data is None:
                self._drain_wake()
            else:
                self._read(*key.data)
        self._drain_inbox()
        if self._terminated:
            return False
        self._flush_outgoing()
        now = time.monotonic()
        if now >= self._sleep_until:
            self._check_starting()
            self._handle(S.Tick(now))
            self._flush_outgoing()
            if now >= self._next_beat:
                self._next_beat = now + self._beat_interval()
                self._ping_beats()
        # Workers still starting are waited for: they join, run the initializer (as the
        # stdlib's eagerly started workers do), and are stopped; or they time out.
        return not (self._closing and self._sched.idle and not self._workers)

    def _wake_deadline(self) -> float:
        """When the loop must wake even if nothing happens (monotonic seconds)."""
        now = time.monotonic()
        deadline = self._sched.next_deadline()
        until = self._next_beat if deadline is None else min(deadline, self._next_beat)
        if not all(r.ready for r in self._workers.values()):
            until = min(until, now + 0.05)  # notice at once a local worker that died starting
        return max(until, now + 0.001)  # never spin, even on a deadline already due

    def _drain_wake(self) -> None:
        # Empty the pipe *before* clearing the flag: a post that finds the flag still set
        # wrote nothing, but its item is in the inbox, which the loop drains right after this.
        # The other order loses wake-ups: the flag stays set over an empty pipe, and every
        # later post waits for the next tick.
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        self._woken = False

    def _drain_inbox(self) -> None:
        inbox = self._inbox
        while inbox:
            what, arg = inbox.popleft()
            if what == "submit":
                self._accept(arg)
            elif what == "hello":
                self._admit(*arg)
            elif what == "launched":
                array, recs = arg
                if array is not None:
                    self._arrays.append(array)
                now = time.monotonic()
                for rec in recs:
                    self._workers[rec.id] = rec
                    self._handle(S.WorkerLaunched(rec.id, now))
            elif what == "launch_failed":
                for rec in arg:
                    if not rec.gone:
                        self._forget(rec, kill=False)
                        self._handle(S.WorkerLost(rec.id, False))
            elif what == "event":
                self._handle(arg)
            elif what == "sinks":
                self._later += arg
            elif what == "close":
                self._closing = True
                self._handle(S.Closing())
            elif what == "terminate":
                self._terminated = True
                self._fail_everything(errors.Error(arg))
                self._kill_all()
                return

    def _handle(self, event: Any) -> None:
        for cmd in self._sched.handle(event):
            getattr(self, "_do_" + type(cmd).__name__)(cmd)

    # -- reading from workers ----------------------------------------------------------
    def _read(self, rec: WorkerRec, chan: Any) -> None:
        if rec.gone:
            return  # dropped earlier in this same round of events
        try:
            msgs = chan.recv_ready()
        except (EOFError, OSError, errors.ProtocolError) as exc:
            if chan is rec.beat:
                self._drop_link(chan)
                rec.beat = None
            else:
                if isinstance(exc, errors.ProtocolError):
                    log.warning("netpool: %s broke the protocol: %s", rec.label(), exc)
                self._lost(rec)
            return
        now = time.monotonic()
        for msg, bufs in msgs:
            kind = msg[0]
            if kind == M.RESULTS:
                self._on_results(rec, msg[1], bufs, now)
            elif kind == M.BEAT:
                self._handle(S.HeartbeatArrived(rec.id, now))
            elif kind == M.REVOKED:
                self._handle(S.Revoked(rec.id, tuple(msg[1]), now))
            elif kind == M.READY and not rec.ready:
                rec.ready = True
                self._handle(S.WorkerJoined(rec.id, now))

    def _on_results(self, rec: WorkerRec, entries: list, bufs: list, now: float) -> None:
        pos = 0
        tids = []
        for tid, status, payload, nbufs in entries:
            self._results[tid] = (status, payload, bufs[pos:pos + nbufs])
            pos += nbufs
            tids.append(tid)
        self._handle(S.ResultsArrived(rec.id, tuple(tids), now))
        self._results.clear()  # what the core did not accept was stale

    # -- commands ----------------------------------------------------------------------
    def _do_SendTasks(self, cmd: S.SendTasks) -> None:
        """Queue the tasks; ``_flush_outgoing`` sends each worker's share of a round at once."""
        rec = self._workers[cmd.worker]
        out = self._outgoing.setdefault(rec, [])
        entries, bufs = [], []
        for tid in cmd.tasks:
            t = self._tasks[tid]
            if t.blob and t.blob not in rec.blobs:
                out.append(((M.DEFINE, t.blob, self._blobs[t.blob]), ()))
                rec.blobs.add(t.blob)
            entries.append((tid, t.kind, t.blob, t.payload, len(t.bufs)))
            bufs += t.bufs
        out.append(((M.TASKS, entries, [memoryview(b).nbytes for b in bufs]), bufs))

    def _flush_outgoing(self, only: Optional[WorkerRec] = None) -> None:
        """Send what this round of events decided: one system call per worker, not per task."""
        for rec in [only] if only is not None else list(self._outgoing):
            msgs = self._outgoing.pop(rec, None)
            if msgs and not rec.gone:
                try:
                    rec.chan.send_many(msgs)
                except OSError:
                    self._lost(rec)

    def _do_Resolve(self, cmd: S.Resolve) -> None:
        task = self._tasks.pop(cmd.task)
        status, payload, bufs = self._results.pop(cmd.task)
        self._to_sink(task.sink._deliver, cmd.task, status, payload, bufs,
                      self._workers[cmd.worker].label())

    def _to_sink(self, method: Any, *args: Any) -> None:
        self._later.append((method, args))  # under _lock, like every use of _later

    def _do_RevokeTasks(self, cmd: S.RevokeTasks) -> None:
        self._send(self._workers[cmd.worker], (M.REVOKE, list(cmd.tasks)))

    def _do_StopWorker(self, cmd: S.StopWorker) -> None:
        rec = self._workers[cmd.worker]
        rec.stopping = True
        self._send(rec, (M.STOP,))

    def _do_KillWorker(self, cmd: S.KillWorker) -> None:
        rec = self._workers.get(cmd.worker)
        if rec is not None:
            rec.lost_reason = cmd.reason
            self._forget(rec, kill=True)
            self._record_death(rec)

    def _do_LaunchReplacement(self, cmd: S.LaunchReplacement) -> None:
        # The core asks only while work remains, and only when configured to replace, which
        # the facade does only if every launcher can (Worker._replacement).
        lost = self._lost_launchers.pop(cmd.worker, None)
        fresh = lost._replacement() if lost is not None else None
        if fresh is None:
            log.error("netpool: worker %d cannot be replaced (%r)", cmd.worker, lost)
            return
        try:
            self.launch(fresh)
        except Exception as exc:
            log.error("netpool: could not launch a replacement worker: %s", exc)

    def _do_FailTask(self, cmd: S.FailTask) -> None:
        task = self._tasks.pop(cmd.task)
        deaths = [self._dead.get(w, f"worker {w}") for w in cmd.killers]
        what = self._blob_names.get(task.blob, "") if task.kind != M.CONTEXT else "a context task"
        msg = (f"task {cmd.task} ({what}) was running on a worker each time one died, "
               f"{len(deaths)} times; it is not retried:\n  " + "\n  ".join(deaths))
        self._to_sink(task.sink._fail, cmd.task, errors.PoisonTaskError(msg, cmd.task, deaths))

    def _do_NoWorkers(self, cmd: S.NoWorkers) -> None:
        if cmd.ever_joined or not self._dead:
            exc: errors.Error = errors.NoMoreWorkersError(
                "Ran out of workers to run tasks" + "".join(
                    f"\n  {d}" for d in list(self._dead.values())[-5:]))
        else:
            tails = list(self._dead_tails.values())[-3:]
            exc = errors.WorkerStartError(
                "no worker connected back to the manager at %s:%d; check the `python` and "
                "`host` arguments and the workers' output%s" % (*self.address, "".join(tails)))
        self._handle(S.TasksWithdrawn(cmd.pending))
        for tid in cmd.pending:
            task = self._tasks.pop(tid, None)
            if task is not None:
                self._to_sink(task.sink._fail, tid, exc)

    # -- workers -----------------------------------------------------------------------
    def _new_rec(self, launcher: Any) -> WorkerRec:
        rec = WorkerRec(next(self._worker_ids), launcher)
        if self.output is not None and launcher is not None:
            rec.output = self.output % rec.id
        return rec

    def key_file(self) -> str:
        """A 0600 file holding the authkey, in a 0700 folder removed when the runtime stops.

        In the current folder: batch workers need a path on a filesystem they share with us.
        """
        with self._blob_lock:
            if self._keydir is None:
                import tempfile
                self._keydir = tempfile.mkdtemp(prefix=".netpool-", dir=os.getcwd())
                write_key_file(self._keydir, self.authkey)
            return os.path.join(self._keydir, "authkey")

    def worker_command(self) -> str:
        """The command that joins another worker to this runtime, from any machine."""
        import shlex
        host, port = self.address
        return f"netpool worker {host}:{port} --authkey-file {shlex.quote(self.key_file())}"

    def _command(self, rec: WorkerRec, key: str) -> WorkerCommand:
        keyfile = self.key_file() if key == KEY_FILE else None
        return WorkerCommand(tuple(self.python), self.address, rec.id, rec.output, keyfile,
                             tuple(self.addresses[1:]))

    def _on_hello(self, chan: Any, hello: tuple, peer: Any) -> None:
        """Called on a handshake thread: hand the authenticated link to the loop."""
        self._post(("hello", (chan, hello)))

    def _admit(self, chan: Any, hello: tuple) -> None:
        _, _, wid, role, pid, host = hello[:6]
        rec = self._workers.get(wid)
        if role == M.ROLE_BEAT:
            if rec is None or rec.chan is None or rec.beat is not None or rec.gone:
                chan.close()
                return
            finish(chan)
            rec.beat = chan
            self._sel.register(chan.sock, selectors.EVENT_READ, (rec, chan))
            return
        if wid == -1:  # joined by itself: `netpool worker HOST:PORT`
            rec = self._new_rec(None)
            self._workers[rec.id] = rec
            self._handle(S.WorkerLaunched(rec.id, time.monotonic()))
        elif rec is None or rec.chan is not None or rec.gone:
            log.warning("netpool: refused worker %s from %s: unknown or already connected", wid, host)
            chan.close()
            return
        rec.chan, rec.pid, rec.host = chan, pid, host
        finish(chan, DEFAULT_MAX_FRAME)  # past the handshake, frames may be large
        cfg = self._sched.config
        try:
            chan.send((M.WELCOME, rec.id, self._beat_interval(), cfg.heartbeat_timeout,
                       [p for p in sys.path if p], self._init))
        except OSError:
            self._lost(rec)
            return
        # Bound sends: a peer that stops reading must not block the loop forever.
        set_io_timeouts(chan.sock, None, max(cfg.heartbeat_timeout, 5.0))
        self._sel.register(chan.sock, selectors.EVENT_READ, (rec, chan))

    def _beat_interval(self) -> float:
        return min(max(self._sched.config.heartbeat_timeout / 4, 0.02), 15.0)

    def _ping_beats(self) -> None:
        for rec in list(self._workers.values()):
            if rec.beat is not None:
                try:
                    rec.beat.send((M.BEAT,))
                except OSError:
                    self._drop_link(rec.beat)
                    rec.beat = None

    def _check_starting(self) -> None:
        """A local worker that exited before connecting is a failed start: say so now."""
        for rec in list(self._workers.values()):
            if not rec.ready and not rec.gone and rec.exit_status() is not None:
                self._lost(rec)

    def _send(self, rec: WorkerRec, msg: tuple) -> None:
        if rec.chan is None:
            return
        self._flush_outgoing(rec)  # keep the order of what we decided for this worker
        try:
            rec.chan.send(msg)
        except OSError:
            self._lost(rec)

    def _lost(self, rec: WorkerRec) -> None:
        if rec.gone:
            return
        graceful = rec.stopping
        self._forget(rec, kill=not graceful)
        if not graceful:
            rec.reap(0.2)
            self._record_death(rec)
        self._handle(S.WorkerLost(rec.id, graceful))
        self._lost_launchers.pop(rec.id, None)  # not replaced (closing, or no work left)

    def _record_death(self, rec: WorkerRec) -> None:
        self._dead[rec.id] = rec.how_it_ended()
        if not rec.ready:
            self._dead_tails[rec.id] = "\n" + self._dead[rec.id] + rec.output_tail()
        log.warning("netpool: %s", self._dead[rec.id])

    def _forget(self, rec: WorkerRec, kill: bool) -> None:
        rec.gone = True
        self._workers.pop(rec.id, None)
        if self._sched.config.replace and rec.launcher is not None:
            self._lost_launchers[rec.id] = rec.launcher  # for LaunchReplacement, just after
        for chan in (rec.chan, rec.beat):
            if chan is not None:
                self._drop_link(chan)
        if kill and rec.launcher is not None:
            rec.launcher._stop()
        else:
            rec.exit_status()  # reaps a child that has exited; never blocks the loop

    def _drop_link(self, chan: Any) -> None:
        try:
            self._sel.unregister(chan.sock)
        except (KeyError, ValueError):
            pass
        chan.close()

    def _disown(self) -> None:
        """In a forked child (forks.py): close our copies of the parent's descriptors.

        No lock (the parent's threads may have held it) and no ``shutdown``, which would cut
        the parent's links too. Closing through the socket objects leaves them knowing they
        are closed, so nothing closes a reused descriptor number later.
        """
        self._running, self._terminated = False, True
        _live_runtimes.discard(self)
        socks = [self._sock] + [c.sock for r in list(self._workers.values())
                                for c in (r.chan, r.beat) if c is not None]
        for sock in socks:
            sock.close()
        self._sel.close()
        fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)

    # -- ending ------------------------------------------------------------------------
    def _fail_everything(self, exc: BaseException) -> None:
        for tid in list(self._tasks):
            task = self._tasks.pop(tid, None)
            if task is not None:
                self._to_sink(task.sink._fail, tid, exc)

    def _kill_all(self) -> None:
        for rec in list(self._workers.values()):
            rec.stopping = True
            self._forget(rec, kill=True)

    def _shutdown(self) -> None:
        _live_runtimes.discard(self)
        forks.release(self)  # before closing: a later child must not close reused numbers
        self._acceptor.close()
        self._kill_all()
        for array in self._arrays:
            try:
                array._stop()
            except Exception as exc:
                log.warning("netpool: could not cancel %r: %s", array, exc)
        if self._keydir is not None:
            import shutil
            shutil.rmtree(self._keydir, ignore_errors=True)
        self._sel.close()
        fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
