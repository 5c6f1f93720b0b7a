"""What ``pool.stats()`` and ``manager.stats()`` return: a plain snapshot of a runtime.

``Counts`` is fed by ``Commands`` as outcomes are decided (a result, a failure, a death, a
worker gone) and by ``TaskTable.accept`` (tasks submitted); ``snapshot`` reads it with the
core's read-only views and the worker table. Both run on whichever thread holds the
runtime's lock; a snapshot is O(live workers), does no I/O and holds only plain values
(dicts, lists, str, int, float, None), so that it can be logged or sent as JSON. Every field
is described in docs/observability.md.
"""

from __future__ import annotations

import io
import pickle
import time
from typing import Any, Optional

from .._core import scheduler as S
from .._protocol import messages as M
from ..errors import PoisonTaskError, describe_exit
from .workers import WorkerRec, WorkerTable


class Counts:
    """Running totals of what was decided, since the runtime started."""

    def __init__(self) -> None:
        self.done = 0                       # results delivered, raised or not
        self.failed = 0                     # every task whose outcome is an exception
        self.raised: dict[str, int] = {}    # the task raised, by exception type name
        self.unencodable = 0                # its result could not be pickled on the worker
        self.poison = 0                     # it was running each time a worker died
        self.manager: dict[str, int] = {}   # the manager failed it, by error class
        self.deaths: dict[str, int] = {}    # workers lost unexpectedly, by how they ended
        self.done_by: dict[int, int] = {}   # successful results per live worker
        self.failed_by: dict[int, int] = {}  # results that are exceptions, per live worker
        self.departed = 0                   # workers gone (lost, stopped, retired)
        self.departed_done = 0              # their successful results
        self.departed_failed = 0            # and the others

    def resolved(self, worker: int, status: int, payload: Any) -> None:
        """A worker's result was accepted for a task."""
        if status == M.OK:
            self.done += 1
            self.done_by[worker] = self.done_by.get(worker, 0) + 1
            return
        self.failed += 1
        self.failed_by[worker] = self.failed_by.get(worker, 0) + 1
        if status == M.RAISED:
            name = raised_type(payload)
            self.raised[name] = self.raised.get(name, 0) + 1
        else:
            self.unencodable += 1

    def manager_failed(self, exc: BaseException) -> None:
        """The manager, not the task, decided it fails with ``exc``."""
        self.failed += 1
        if isinstance(exc, PoisonTaskError):
            self.poison += 1
        else:
            name = type(exc).__name__
            self.manager[name] = self.manager.get(name, 0) + 1

    def died(self, exit_code: Optional[int], timeout: Optional[str] = None) -> None:
        """A worker was lost unexpectedly; ``timeout`` is why we killed it, if we did."""
        how = describe_exit(exit_code)
        if timeout:
            how += f" after the {timeout} timeout"
        self.deaths[how] = self.deaths.get(how, 0) + 1

    def gone(self, worker: int) -> None:
        """It left the worker table: its results move to the departed totals."""
        self.departed += 1
        self.departed_done += self.done_by.pop(worker, 0)
        self.departed_failed += self.failed_by.pop(worker, 0)


class _Plain(pickle.Unpickler):
    """Reads plain data only: the exception inside stays pickled, never rebuilt here."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"not plain data: {module}.{name}")


def raised_type(payload: Any) -> str:
    """The exception type a RAISED payload names (``ValueError``, ``mymod.MyError``).

    Only the plain envelope is read (protocol.md: the exception itself stays pickled)."""
    try:
        name = _Plain(io.BytesIO(payload)).load()[3]
    except Exception:  # not the shape protocol.md gives; the sink says why, not us
        return "unknown"
    if not isinstance(name, str):
        return "unknown"
    return name[len("builtins."):] if name.startswith("builtins.") else name


def _age(now: float, then: float) -> float:
    return round(max(0.0, now - then), 3)


def worker_view(rec: WorkerRec, sched: S.Scheduler, counts: Counts, now: float) -> dict:
    state = sched.worker_state(rec.id)
    times = sched.worker_times(rec.id)
    tasks = list(sched.running_on(rec.id))
    live = times is not None and state != S.STARTING
    return {
        "id": rec.id,
        "host": rec.host,
        "pid": rec.pid,
        "launcher": repr(rec.launcher) if rec.launcher is not None else None,
        "state": state or ("connecting" if rec.chan is not None else "unknown"),
        "tasks_done": counts.done_by.get(rec.id, 0),
        "tasks_failed": counts.failed_by.get(rec.id, 0),
        "tasks": tasks,
        "running_since": _age(now, times[1]) if tasks and live and times else None,
        "heartbeat_age": _age(now, times[0]) if live and times else None,
    }


def snapshot(sched: S.Scheduler, workers: WorkerTable, counts: Counts, submitted: int,
             inbox: int, now: Optional[float] = None) -> dict:
    """The snapshot (docs/observability.md); ``now`` is the core's clock (monotonic).

    ``submitted``: tasks that entered the task table; ``inbox``: items not yet handled."""
    now = time.monotonic() if now is None else now
    live = [worker_view(rec, sched, counts, now) for rec in workers.values()]
    running = sum(len(w["tasks"]) for w in live)
    pending = len(sched.pending)
    return {
        "time": time.time(),
        "workers": live,
        "totals": {
            "submitted": submitted, "done": counts.done, "failed": counts.failed,
            "pending": pending, "running": running,
            "workers_live": sum(1 for w in live if w["state"] == S.LIVE),
            "workers_starting": sum(1 for w in live if w["state"] != S.LIVE),
            "workers_departed": counts.departed,
            "departed_tasks_done": counts.departed_done,
            "departed_tasks_failed": counts.departed_failed,
        },
        "failures": {
            "raised": dict(counts.raised), "unencodable": counts.unencodable,
            "poison": counts.poison, "manager": dict(counts.manager),
            "worker_deaths": dict(counts.deaths),
        },
        "queues": {"pending": pending, "on_workers": running, "inbox": inbox},
    }


def empty_snapshot() -> dict:
    """The snapshot of a runtime not started yet: no workers, every count zero."""
    return snapshot(S.Scheduler(), WorkerTable(), Counts(), 0, 0)
