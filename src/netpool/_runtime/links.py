"""The loop's links to its workers: selector registrations, and what each worker is owed.

Messages decided while handling a round of events are queued per worker and sent at the end
of the round, one system call per worker rather than one per task. A send that fails is
remembered in ``broken`` for the thread that owns the core to handle (``take_broken``); it
never raises into the code that decided the send. Used under the runtime's lock.
"""

from __future__ import annotations

import selectors
from typing import Any, Optional

from .._protocol import messages as M
from .workers import WorkerRec


class Links:
    def __init__(self, sel: selectors.BaseSelector) -> None:
        self._sel = sel
        self._broken: dict[WorkerRec, None] = {}  # links a send failed on, in order
        self._outgoing: dict[WorkerRec, list] = {}  # messages decided this round, per worker

    def register(self, rec: WorkerRec, chan: Any) -> None:
        """Read ``chan`` (the worker's main or heartbeat link) in the loop's selector."""
        self._sel.register(chan.sock, selectors.EVENT_READ, (rec, chan))

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

    def ping(self, recs: Any) -> None:
        """A BEAT on each heartbeat link; a broken one is dropped (the main link decides)."""
        for rec in recs:
            if rec.beat is not None:
                try:
                    rec.beat.send((M.BEAT,))
                except OSError:
                    self.drop(rec.beat)
                    rec.beat = None
