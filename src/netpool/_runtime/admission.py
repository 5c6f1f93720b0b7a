"""Admission: an authenticated link becomes a worker's main or heartbeat link.

The accept thread and the handshake threads (``listener``) authenticate peers off the loop
thread; what reaches the loop is an ``inbox.Hello``. Here it is attached to its worker
record (``WorkerTable.admit`` decides which), welcomed, and registered for reading. A status
client's link (role ``status``) goes to ``status`` before any of that: it never gets a
worker record, so the core never sees it. Loop thread only.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

from .._core import scheduler as S
from .._protocol import messages as M
from .._transport.channel import DEFAULT_MAX_FRAME, set_io_timeouts
from .._transport.handshake import finish
from . import inbox
from .links import Links
from .workers import WorkerRec, WorkerTable


def beat_interval(cfg: S.Config) -> float:
    """How often the heartbeat links exchange a BEAT."""
    return min(max(cfg.heartbeat_timeout / 4, 0.02), 15.0)


class Admission:
    def __init__(self, *, workers: WorkerTable, links: Links, config: Callable[[], S.Config],
                 initializer: Optional[bytes], handle: Callable[[Any], None],
                 lost: Callable[[WorkerRec], None], status: Callable[..., None],
                 forward: Callable[[WorkerRec], bool]) -> None:
        self._workers, self._links, self._config = workers, links, config
        self._init = initializer
        self._handle, self._lost = handle, lost
        self._status = status    # (channel, peer): serves a status client (statusserve)
        self._forward = forward  # rec -> whether it sends what its tasks print (output.py)

    def on_hello(self, item: inbox.Hello) -> None:
        chan = item.chan
        if item.hello[3] == M.ROLE_STATUS:  # read-only: no record, no core event, no task
            self._status(chan, _peer(item.peer))
            return
        rec, new = self._workers.admit(item.hello)
        if rec is None:
            chan.close()
            return
        if new:
            self._handle(S.WorkerLaunched(rec.id, time.monotonic()))
        if item.hello[3] == M.ROLE_BEAT:
            finish(chan)
            if rec.beat is not None:  # its supervisor joined again (WorkerTable.admit)
                self._links.drop(rec.beat)
            rec.beat, rec.beat_pid = chan, item.hello[4]
            self._links.register(rec, chan)
            try:  # the supervisor counts its link open once this comes (supervisor.py)
                chan.send((M.BEAT,))
            except OSError:
                self._links.drop(chan)
                rec.beat = None
            return
        rec.chan = chan
        rec.peer = _peer(item.peer)
        if rec.launcher is not None:
            rec.launcher.connected = True
        finish(chan, DEFAULT_MAX_FRAME)  # past the handshake, frames may be large
        cfg = self._config()
        try:
            chan.send((M.WELCOME, rec.id, beat_interval(cfg), cfg.heartbeat_timeout,
                       [p for p in sys.path if p], self._init, rec.identity, cfg.task_timeout,
                       self._forward(rec)))
        except OSError:
            self._lost(rec)
            return
        # Bound sends: a peer that stops reading must not block the loop forever.
        set_io_timeouts(chan.sock, None, max(cfg.heartbeat_timeout, 5.0))
        self._links.register(rec, chan)


def _peer(peer: Any) -> Optional[str]:
    try:
        return f"{peer[0]}:{peer[1]}"
    except (TypeError, IndexError):
        return None if peer is None else str(peer)
