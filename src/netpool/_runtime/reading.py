"""Reading a worker: its messages, their shapes checked, become events for the core.

Everything a peer sends is checked here (with ``_protocol.shapes``) before the core sees it,
so a malformed message costs its link only: ``events`` raises ``ProtocolError`` after the
events of the well-formed messages before it. ``Reading._read`` (a mixin of ``Runtime``) hands
them to the core and drops a link that broke. Loop thread only.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Optional

from .. import errors
from .._core import scheduler as S
from .._protocol import messages as M
from .._protocol import shapes
from ..errors import ProtocolError
from . import output
from .workers import WorkerRec

log = logging.getLogger("netpool")


class Reading:
    def _read(self, rec: WorkerRec, chan: Any) -> None:
        if rec.gone:
            return  # dropped earlier in this same round of events
        out: list = []
        try:
            msgs = chan.recv_ready()
            if len(msgs) == 1 and self._read_lone(rec, *msgs[0]):
                return
            error = events(rec, msgs, time.monotonic(), out)
        except (EOFError, OSError, errors.ProtocolError) as exc:
            error = exc
        results = self._cmds.results
        for event, payloads in out:
            if payloads is not None:
                results.update(payloads)
            self._handle(event)
            self._walltime_joined(rec, event)
            if type(event) is S.WorkerJoined:
                self._cmds.joined(rec, event.now)
            results.clear()  # what the core did not accept was stale
        if error is None:
            return
        if isinstance(error, errors.ProtocolError):
            log.warning("netpool: %s (%s) broke the protocol: %s; dropping its link",
                        rec.label(), rec.peer or "?", error)
        if chan is rec.beat:
            self._links.drop(chan)
            rec.beat = None
        elif not rec.gone:
            self._cmds.lost(rec)

    def _read_lone(self, rec: WorkerRec, msg: tuple, bufs: list) -> bool:
        """A RESULTS of one result, decided by the core's lone path (``_core/lone.py``) with
        no event or command built; False if it is not one or the core declined. Raises
        ``ProtocolError`` for a malformed one, having changed nothing."""
        entry = shapes.check_lone_result(msg, len(bufs))
        if entry is None:
            return False
        tid, attempt, status, payload, _, secs = entry
        done = self._sched.result_one(rec.id, tid, attempt, time.monotonic(), secs)
        if done:
            self._cmds.resolved(tid, rec.id, status, payload, bufs)
        return done is not None




def events(rec: WorkerRec, msgs: list, now: float, out: list) -> Optional[ProtocolError]:
    """Append ``(event, payloads)`` for each message to ``out``; the first protocol error,
    if any (the messages after it are not read). ``payloads`` maps task id to
    ``(status, payload, buffers)`` for a RESULTS, else is None. Which attempt each result
    belongs to goes to the core, which alone decides whether it counts."""
    for msg, bufs in msgs:
        try:
            item = _event(rec, msg, bufs, now)
        except ProtocolError as exc:
            return exc
        if item is not None:
            out.append(item)
    return None


def _event(rec: WorkerRec, msg: tuple, bufs: list, now: float) -> Optional[tuple[Any, Any]]:
    kind = msg[0]
    if kind == M.RESULTS:
        pos, payloads, attempts, busy = 0, {}, [], 0.0
        for tid, attempt, status, payload, nbufs, secs in shapes.check_results(msg, len(bufs)):
            payloads[tid] = (status, payload, bufs[pos:pos + nbufs])  # each tid once (shapes)
            attempts.append((tid, attempt))
            pos += nbufs
            busy += secs
        return S.ResultsArrived(rec.id, tuple(attempts), now, busy), payloads
    if kind == M.BEAT:
        why = shapes.check_beat(msg)
        if why is not None:  # its supervisor is killing it: the error messages say why
            rec.lost_reason = why[:500]
        return S.HeartbeatArrived(rec.id, now), None
    if kind == M.OUTPUT:  # what its tasks printed (it forwards only if WELCOME said so)
        where = f" {rec.host}" if rec.host else ""
        output.show(f"worker {rec.id}{where}", shapes.check_output(msg))
        return None
    if kind == M.REVOKED:
        return S.Revoked(rec.id, shapes.check_revoked(msg), now), None
    if kind == M.READY:
        left, supervisor = shapes.check_ready(msg)
        if rec.ready:
            return None
        rec.ready, rec.job_left = True, left
        rec.beat_pid = rec.beat_pid or supervisor  # known before its own link, if that is late
        log.info("netpool: %s joined", rec.label())
        return S.WorkerJoined(rec.id, now), None
    raise ProtocolError(f"unexpected message type {kind!r} from a worker")
