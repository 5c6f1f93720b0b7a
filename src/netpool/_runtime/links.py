"""The loop's links to its workers: selector registrations, and what each worker is owed.

Messages decided while handling a round of events are queued per worker and sent at the end
of the round, one system call per worker rather than one per task. A send that fails is
remembered in ``broken`` for the thread that owns the core to handle (``take_broken``); it
never raises into the code that decided the send. Used under the runtime's lock.
"""

from __future__ import annotations

import os
import selectors
import time
from collections import deque
from typing import Any, Callable, Optional

from .._protocol import messages as M
from .workers import WorkerRec


class Links:
    def __init__(self, sel: selectors.BaseSelector, interval: Callable[[], float]) -> None:
        self._sel = sel
        self._interval = interval  # seconds between BEATs on each heartbeat link
        self._ring: deque = deque()  # (when its next BEAT is due, worker), oldest first
        self._broken: dict[WorkerRec, None] = {}  # links a send failed on, in order
        self._outgoing: dict[WorkerRec, list] = {}  # messages decided this round, per worker

    def register(self, rec: WorkerRec, chan: Any) -> None:
        """Read ``chan`` (the worker's main or heartbeat link) in the loop's selector."""
        self._sel.register(chan.sock, selectors.EVENT_READ, (rec, chan))
        if chan is rec.beat:
            self._ring.append((time.monotonic() + self._interval(), rec, chan))

    def watch_exit(self, rec: WorkerRec) -> bool:
        """Have the selector report the end of ``rec``'s local process, as ``(rec, None)``;
        False if there is no way to. The sentinel is the launcher's ``_sentinel()`` (a new
        descriptor that becomes readable when the process ends) if it has one, else a pidfd
        of its ``pid`` (local and ssh workers: the process, or its ssh client)."""
        make = getattr(rec.launcher, "_sentinel", None)
        fd = make() if make is not None else _pidfd(rec)
        if fd is None:
            return False
        rec.sentinel = fd
        self._sel.register(fd, selectors.EVENT_READ, (rec, None))
        return True

    def forget_sentinels(self) -> None:
        """In a forked child: close its copies of the sentinels (no selector call: the
        selector is the parent's, and is closed next)."""
        for key in list(self._sel.get_map().values()):
            if key.data is not None and key.data[1] is None:
                key.data[0].sentinel = None
                os.close(key.fd)

    def unwatch_exit(self, rec: WorkerRec) -> None:
        fd, rec.sentinel = rec.sentinel, None
        if fd is not None:
            try:
                self._sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            os.close(fd)

    def sockets(self) -> list:
        """Every worker socket registered (a forked child closes its copies)."""
        return [key.fileobj for key in list(self._sel.get_map().values())
                if key.data is not None and key.data[1] is not None]

    def drop(self, chan: Any) -> None:
        try:
            self._sel.unregister(chan.sock)
        except (KeyError, ValueError):
            pass
        chan.close()

    def queue(self, rec: WorkerRec) -> list:
        """The list of (message, buffers) to send ``rec`` at the end of this round."""
        out = self._outgoing.get(rec)
        if out is None:
            out = self._outgoing[rec] = []
        return out

    def __bool__(self) -> bool:
        return bool(self._outgoing)

    def flush(self, only: Optional[WorkerRec] = None) -> None:
        """Send what this round of events decided (to ``only``, or to every worker)."""
        for rec in [only] if only is not None else list(self._outgoing):
            msgs = self._outgoing.pop(rec, None)
            if msgs and not rec.gone:
                try:
                    rec.chan.send_many(msgs)
                except OSError:
                    self._broken[rec] = None

    def take_broken(self) -> list[WorkerRec]:
        """The workers whose link failed a send since the last call."""
        if not self._broken:
            return []
        broken = list(self._broken)
        self._broken.clear()
        return broken

    def send(self, rec: WorkerRec, msg: tuple) -> None:
        """Send one message now, after what was queued for that worker."""
        if rec.chan is None:
            return
        self.flush(rec)  # keep the order of what we decided for this worker
        try:
            rec.chan.send(msg)
        except OSError:
            self._broken[rec] = None

    def ping_due(self, now: float) -> float:
        """A BEAT on each heartbeat link whose turn has come (or comes within a quarter
        interval: one wake-up serves many); when the next turn is. Each link's turn comes
        once an interval, so a round costs the links due, not all of them. A link that
        fails is dropped: the main link decides whether the worker is lost."""
        interval = self._interval()
        ring, horizon = self._ring, now + interval / 4
        while ring and ring[0][0] <= horizon:
            _, rec, chan = ring.popleft()
            if rec.gone or rec.beat is not chan:  # gone, or replaced by a newer link
                continue
            try:
                chan.send((M.BEAT,))
            except OSError:
                self.drop(chan)
                rec.beat = None
                continue
            ring.append((now + interval, rec, chan))
        return ring[0][0] if ring else now + interval


def _pidfd(rec: WorkerRec) -> Optional[int]:
    """A pidfd of ``rec``'s local child, while it has not been reaped (so the pid is still
    its own), or None."""
    pid, pidfd_open = getattr(rec.launcher, "pid", None), getattr(os, "pidfd_open", None)
    if pid is None or pidfd_open is None or rec.exit_status() is not None:
        return None
    try:
        return pidfd_open(pid)
    except OSError:
        return None
