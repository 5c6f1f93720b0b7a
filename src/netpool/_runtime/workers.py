"""The shell's table of workers: launch, links, and how each one ended, in words."""

from __future__ import annotations

import itertools
import multiprocessing.process
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from .. import errors
from .._protocol import messages as M
from ..errors import describe_exit

log = logging.getLogger("netpool")

TAIL_LINES = 15


@dataclass(eq=False)
class WorkerRec:
    """Everything the shell knows of one worker; the core knows only its id."""

    id: int
    launcher: Any = None            # the Worker object that started it (None: joined by itself)
    output: Optional[str] = None
    chan: Any = None                # main link, once connected
    beat: Any = None                # supervisor's heartbeat link
    pid: Optional[int] = None
    host: Optional[str] = None
    peer: Optional[str] = None      # "address:port" of its main link, for logs
    ready: bool = False
    stopping: bool = False          # we asked it to exit, so its exit is graceful
    gone: bool = False
    exit_code: Optional[int] = None
    lost_reason: Optional[str] = None
    job_left: Optional[float] = None  # seconds its batch job had left when it joined
    sentinel: Optional[int] = None  # a pidfd readable once its local process has ended
    blobs: set = field(default_factory=set)  # callables already defined on it
    identity: tuple = ()            # its multiprocessing _identity, as a stdlib child's
    beat_pid: Optional[int] = None  # its supervisor's pid, once the supervisor connected
    _label: Optional[str] = field(default=None, repr=False)


    def label(self) -> str:
        """``worker 3 LocalWorker() on host pid 123``; given with every result, so kept once
        the worker has connected and it no longer changes."""
        if self._label is not None:
            return self._label
        where = f" on {self.host}" if self.host else ""
        pid = f" pid {self.pid}" if self.pid else ""
        what = repr(self.launcher) if self.launcher is not None else "<joined worker>"
        label = f"worker {self.id} {what}{where}{pid}"
        if self.pid:
            self._label = label
        return label

    def exit_status(self) -> Optional[int]:
        if self.exit_code is None and self.launcher is not None:
            self.exit_code = self.launcher._exit_status()
        return self.exit_code

    def reap(self, timeout: float) -> Optional[int]:
        """Wait a little for a local process that just dropped its link to finish exiting."""
        reap = getattr(self.launcher, "_reap", None)
        if self.exit_code is None and reap is not None:
            self.exit_code = reap(timeout)
        return self.exit_status()

    def how_it_ended(self) -> str:
        reason = {"heartbeat": "was silent past the heartbeat timeout and was killed",
                  "connect": "did not connect back within the connect timeout"}.get(
                      self.lost_reason or "",
                      "lost its connection" if self.chan else "exited before connecting back")
        if self.lost_reason and self.lost_reason not in ("heartbeat", "connect"):
            reason = f"{self.lost_reason} and was killed by its supervisor"
        return f"{self.label()} {reason} ({describe_exit(self.exit_status())})"

    def output_tail(self) -> str:
        """The last lines of the worker's output file, for error messages."""
        if not self.output:
            return ""
        try:
            with open(self.output, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 8192))
                lines = f.read().decode(errors="replace").splitlines()[-TAIL_LINES:]
        except OSError as exc:
            return f"\n  (its output file {self.output} cannot be read: {exc.strerror})"
        if not lines:
            return f"\n  (its output file {self.output} is empty)"
        body = "\n".join("    " + line for line in lines)
        return f"\n  last lines of {self.output}:\n{body}"


class WorkerTable:
    """The live workers by id, and what is remembered of the ones that went away.

    Touched by the thread that owns the core only (``count_ready`` excepted: any thread).
    """

    def __init__(self) -> None:
        self._ids = itertools.count()
        self.live: dict[int, WorkerRec] = {}
        self.dead: dict[int, str] = {}        # how each lost worker ended, for error messages
        self.dead_tails: dict[int, str] = {}  # ... and its output, if it never connected
        self.lost_launchers: dict[int, Any] = {}  # launchers of lost workers, to replace
        # Local processes still starting that no sentinel watches: their exit status is
        # polled (the only per-round cost that grows with workers, and only with these).
        self.polled: set[WorkerRec] = set()

    def new_rec(self, launcher: Any, output: Optional[str]) -> WorkerRec:
        """A record with a fresh id (not yet in the table); any thread."""
        rec = WorkerRec(next(self._ids), launcher, identity=new_identity())
        if output is not None and launcher is not None:
            rec.output = output % rec.id
        return rec

    def add(self, rec: WorkerRec) -> None:
        self.live[rec.id] = rec

    def get(self, wid: int) -> Optional[WorkerRec]:
        return self.live.get(wid)

    def __getitem__(self, wid: int) -> WorkerRec:
        return self.live[wid]

    def __bool__(self) -> bool:
        return bool(self.live)

    def __iter__(self) -> Iterator[WorkerRec]:
        return iter(list(self.live.values()))

    def values(self) -> list[WorkerRec]:
        """The live records, as a list (safe to iterate while the table changes)."""
        return list(self.live.values())

    def remove(self, rec: WorkerRec, replace: bool) -> None:
        """Mark it gone; keep its launcher for ``LaunchReplacement`` if ``replace``."""
        rec.gone = True
        self.live.pop(rec.id, None)
        self.polled.discard(rec)
        if replace and rec.launcher is not None:
            self.lost_launchers[rec.id] = rec.launcher  # for LaunchReplacement, just after

    def exited_before_joining(self) -> list[WorkerRec]:
        """Polled local workers whose process ended before they connected."""
        polled = self.polled
        for r in [r for r in polled if r.ready or r.gone]:
            polled.discard(r)
        return [r for r in polled if r.exit_status() is not None]

    def count_ready(self) -> int:
        """Workers connected and not gone; any thread."""
        return sum(1 for w in list(self.live.values()) if w.ready and not w.gone)

    def record_death(self, rec: WorkerRec) -> str:
        """Remember (and return) how it ended, with its output if it never connected."""
        how = self.dead[rec.id] = rec.how_it_ended()
        if not rec.ready:
            self.dead_tails[rec.id] = "\n" + how + rec.output_tail()
        return how

    def admit(self, hello: tuple) -> tuple[Optional[WorkerRec], bool]:
        """The record an authenticated HELLO attaches to, and whether it is new.

        (None, False) refuses the link: a heartbeat link for a worker with no main link, or
        a second main link. A worker that joined by itself (id -1) gets a new record.
        """
        _, _, wid, role, pid, host = hello[:6]
        rec = self.live.get(wid)
        if role == M.ROLE_BEAT:
            if rec is None or rec.chan is None or rec.gone:
                return None, False
            # A second one from the same supervisor replaces the first: it gave up waiting
            # for the first's BEAT (a starved manager) and joined again.
            if rec.beat is not None and (rec.beat_pid is None or pid != rec.beat_pid):
                return None, False
            return rec, False
        if wid == -1:  # joined by itself: `netpool worker HOST:PORT`
            rec = self.new_rec(None, None)
            self.add(rec)
            new = True
        elif rec is None or rec.chan is not None or rec.gone:
            log.warning("netpool: refused worker %s from %s: unknown or already connected", wid, host)
            return None, False
        else:
            new = False
        rec.pid, rec.host = pid, host
        return rec, new

    def poison_error(self, tid: int, what: str, killers: Any) -> errors.PoisonTaskError:
        """The error for a task that was running on a worker each time one died."""
        deaths = [self.dead.get(w, f"worker {w}") for w in killers]
        msg = (f"task {tid} ({what}) was running on a worker each time one died, "
               f"{len(deaths)} times; it is not retried:\n  " + "\n  ".join(deaths))
        return errors.PoisonTaskError(msg, tid, deaths)

    def no_workers_error(self, ever_joined: bool, address: tuple) -> errors.Error:
        """Why tasks fail when no worker is left: the last deaths, or why none started."""
        if ever_joined or not self.dead:
            return errors.NoMoreWorkersError("Ran out of workers to run tasks" + "".join(
                f"\n  {d}" for d in list(self.dead.values())[-5:]))
        tails = list(self.dead_tails.values())[-3:]
        return errors.WorkerStartError(
            "no worker connected back to the manager at %s:%d; check the `python` and "
            "`host` arguments and the workers' output%s" % (*address, "".join(tails)))


def new_identity() -> tuple:
    """The next ``_identity`` for a worker, from the counter the stdlib's children take
    theirs from: ``(3,)`` in a main process, ``(1, 2)`` in a worker's own pool."""
    here = multiprocessing.process._current_process
    return tuple(here._identity) + (next(multiprocessing.process._process_counter),)


TERM_GRACE = 0.5  # an idle worker asked to end by SIGTERM has this long before SIGKILL


def stop_supervisors(recs: list, timeout: float = 1.0, idle: frozenset = frozenset()) -> None:
    """Before local workers are killed: end each worker below its supervisor (the process we
    started, which is killed next) and wait briefly until the supervisor has reaped it and
    exited. Killed first, the supervisor would leave its worker to whatever reaps orphans (in
    a container, often nothing: a zombie). Only for our own children, on this host.

    Workers whose ids are in ``idle`` (no task of theirs running or queued) get SIGTERM
    first and ``TERM_GRACE`` to end as a stdlib process does, running ``multiprocessing``'s
    exit hooks: what their tasks put on a ``multiprocessing.Queue`` is flushed, not lost.
    The others are killed at once, as ``terminate()`` promises.
    """
    recs = kill_below_supervisors(recs, idle)
    start = time.monotonic()
    gentle = [r for r in recs if r.pid and r.id in idle]
    for r in gentle:
        while time.monotonic() < start + TERM_GRACE and r.launcher._exit_status() is None:
            time.sleep(0.002)
        if r.launcher._exit_status() is None:
            _signal(r.pid, signal.SIGKILL)
    deadline = start + timeout + (TERM_GRACE if gentle else 0.0)
    for r in recs:
        while time.monotonic() < deadline and r.launcher._exit_status() is None:
            time.sleep(0.002)
        if r.launcher._exit_status() is None:
            # Too slow (a loaded machine): kill it too. Its worker, if not yet reaped, is then
            # adopted by us when we are a subreaper (PID 1 in a container): reap it here.
            r.launcher._stop()
            if r.pid:
                _reap_adopted(r.pid)


def kill_below_supervisors(recs: list, idle: frozenset = frozenset()) -> list:
    """End each local worker below its supervisor, which then reaps it, mirrors its exit
    status and exits; never waits. Returns the records so signalled.

    SIGKILL, or SIGTERM for those in ``idle``. A worker still starting (its pid not known
    yet) is ended through its supervisor: SIGTERM there kills and reaps the worker.
    """
    from ..launchers.local import LocalWorker
    recs = [r for r in recs if isinstance(r.launcher, LocalWorker) and r.launcher.pid
            and r.launcher._exit_status() is None]
    for r in recs:
        if r.pid:
            _signal(r.pid, signal.SIGTERM if r.id in idle else signal.SIGKILL)
        else:
            _signal(r.launcher.pid, signal.SIGTERM)
    return recs


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap_adopted(pid: int, timeout: float = 0.5) -> None:
    """Reap ``pid`` if it became our child and ends within ``timeout`` (it was SIGKILLed)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] or time.monotonic() > deadline:
                return
        except ChildProcessError:
            return  # not ours: its supervisor reaped it, or init will
        time.sleep(0.002)


def begin_kill(rec: WorkerRec) -> None:
    """Start the end of ``rec``'s local process without waiting for it: the worker below its
    supervisor, else the child we started (an ssh client). Its sentinel says when it ended."""
    if kill_below_supervisors([rec]):
        return
    pid = getattr(rec.launcher, "pid", None)
    if pid is not None and rec.exit_status() is None:
        _signal(pid, signal.SIGKILL)
