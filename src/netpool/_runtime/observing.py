"""What a runtime shows of itself: ``stats()``, status clients, and the tasks still to come.

``Observing`` is a mixin of ``loop.Runtime``. Everything here is read from other threads
(the progress line's, the status thread, user calls) and never runs on the core's hot path:
``stats()`` takes the runtime's lock for one O(workers) snapshot; a ``Promise`` is written by
an imap's feeder thread without any lock of the runtime's.

``totals["expected"]`` (docs/observability.md) is the one field the snapshot does not hold
by itself: how many tasks there will be in all, as far as the facades know. ``map`` and
``apply`` submit everything at once; an ``imap`` submits as it reads its input, so it
promises ``ceil(len(input) / chunksize)`` tasks when its input has a length, or says that
it cannot know (then ``expected`` is None until it has read its input to the end).
"""

from __future__ import annotations

import shlex
import threading
from typing import Any, Optional

from . import output
from . import stats as _stats_module
from .statusserve import StatusLinks
from .workers import WorkerRec


class Promise:
    """Tasks one imap will submit: ``total`` (None: unknown), ``sent`` of them so far.

    ``sent`` is written by the feeder thread alone; a reader sees the last value written."""

    __slots__ = ("total", "sent")

    def __init__(self, total: Optional[int]) -> None:
        self.total, self.sent = total, 0


class Observing:
    """The runtime's read-only views. Needs ``_lock``, ``_sched``, ``_workers``, ``_cmds``,
    ``_tasks`` and ``_inbox`` from ``Runtime``; ``_observing_init`` in its ``__init__``."""

    forward_output = False  # send what tasks print, where their output would go to a file

    def _observing_init(self) -> None:
        self._promises: set[Promise] = set()
        self._promises_lock = threading.Lock()
        self._status_links = StatusLinks(self.stats)

    def stats(self) -> dict:
        """A plain snapshot (fields: docs/observability.md); any thread, under the lock,
        O(workers), no I/O. Not from inside a round (it would wait for its own lock)."""
        with self._lock:  # type: ignore[attr-defined]
            snap = _stats_module.snapshot(
                self._sched, self._workers, self._cmds.counts,  # type: ignore[attr-defined]
                self._tasks.accepted, len(self._inbox.items))  # type: ignore[attr-defined]
        outstanding = self.outstanding()
        totals = snap["totals"]
        totals["expected"] = None if outstanding is None else totals["submitted"] + outstanding
        return snap

    # -- what imaps have yet to submit -------------------------------------------------
    def promise(self, total: Optional[int]) -> Promise:
        """Register an imap that will submit ``total`` tasks (None: it cannot tell); any
        thread. Update ``sent`` as they go, and call ``kept`` once its input is read."""
        p = Promise(total)
        with self._promises_lock:
            self._promises.add(p)
        return p

    def kept(self, p: Promise) -> None:
        """That imap has submitted all it ever will (its input ended, raised, or the pool
        stopped); any thread."""
        with self._promises_lock:
            self._promises.discard(p)

    def outstanding(self) -> Optional[int]:
        """Tasks the open imaps will still submit; None if one of them cannot tell."""
        with self._promises_lock:
            promises = list(self._promises)
        if any(p.total is None for p in promises):
            return None
        return sum(max(0, p.total - p.sent) for p in promises)  # type: ignore[operator]

    # -- status clients and output forwarding ------------------------------------------
    def _status_link(self, chan: Any, peer: Any = None) -> None:
        self._status_links.add(chan, peer)

    def status_command(self) -> str:
        """``netpool status HOST:PORT --authkey-file PATH``: watch this runtime from
        anywhere its workers could connect from (the key file is ``worker_command``'s)."""
        host, port = self.address  # type: ignore[attr-defined]
        key = shlex.quote(self._launching.key_file())  # type: ignore[attr-defined]
        return f"netpool status {host}:{port} --authkey-file {key}"

    def status_clients(self) -> int:
        """Status clients connected now (never counted among the workers)."""
        return self._status_links.count()

    def _forwards(self, rec: WorkerRec) -> bool:
        """Whether worker ``rec`` is to send what its tasks print (WELCOME says so): when
        forwarding is on and its output would not reach our terminal by itself, that is,
        it goes to a file (a batch job's, or ``output=``), or it joined by itself."""
        if not self.forward_output:
            return False
        launcher = rec.launcher
        return (rec.output is not None or launcher is None
                or not getattr(launcher, "relays_output", True))

    def _observing_close(self) -> None:
        """At the runtime's end (its loop thread): close status links, and let the lines
        workers forwarded reach the terminal before ``join`` returns (at most 2 s)."""
        self._status_links.close()
        output.drain(2.0)
