"""The core's vocabulary: events (facts the shell reports, past tense) and commands
(decisions the shell carries out, imperative, in order). Plain frozen data, no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Union


class InternalError(RuntimeError):
    """An event that cannot happen if the shell keeps the core's contract (a worker launched
    twice, an event type the core does not know): a bug in netpool, not in the user's code."""


WorkerState = Literal["starting", "live", "draining"]
STARTING: WorkerState = "starting"  # launched, not yet connected
LIVE: WorkerState = "live"          # takes tasks
DRAINING: WorkerState = "draining"  # takes no more: max_tasks reached, or told to stop
KillReason = Literal["heartbeat", "connect"]

TaskId = int
WorkerId = int
#: One sending of a task: ``(task, n)``, where ``n`` is unique to that send (a counter of every
#: send this scheduler made). A result or revocation counts only if it names the attempt
#: that is current on the worker that sends it: so a duplicate, a stray, a late result for an
#: attempt since revoked or requeued, or one from a process that copied the worker's queue
#: by forking, can never resolve a task, even one that went back to the same worker.
Attempt = tuple[TaskId, int]

# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class TasksSubmitted:
    tasks: tuple[TaskId, ...]


@dataclass(frozen=True, slots=True)
class TasksWithdrawn:
    """The shell takes back pending tasks (after ``NoWorkers``, or on terminate)."""

    tasks: tuple[TaskId, ...]


@dataclass(frozen=True, slots=True)
class WorkerLaunched:
    worker: WorkerId
    now: float


@dataclass(frozen=True, slots=True)
class WorkerJoined:
    worker: WorkerId
    now: float


@dataclass(frozen=True, slots=True)
class ResultsArrived:
    """Results for these attempts came from the worker (any may be stale or repeated).

    ``busy``: the seconds the worker says it spent running these tasks (>= 0), or None if
    it did not say. The worker's pace is taken from it: the time between a send and its
    result, in our clock, also holds the round trip and every wait for a CPU, and on a
    crowded machine made a microsecond task look like a millisecond one."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]
    now: float
    busy: Optional[float] = None


@dataclass(frozen=True, slots=True)
class Revoked:
    """The worker took these attempts out of its queue before starting them."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]
    now: float


@dataclass(frozen=True, slots=True)
class HeartbeatArrived:
    worker: WorkerId
    now: float


@dataclass(frozen=True, slots=True)
class WorkerLost:
    worker: WorkerId
    graceful: bool = False


@dataclass(frozen=True, slots=True)
class Tick:
    now: float


@dataclass(frozen=True, slots=True)
class ReplacementDue:
    """The worker's batch job ends soon: launch its successor now (it keeps working)."""

    worker: WorkerId


@dataclass(frozen=True, slots=True)
class RetireRequested:
    """The worker is to take no more tasks, give back those it has not started, finish its
    running one and exit: its job nears its walltime, or adapt shrinks the pool. With
    ``replace`` it gets a successor now (if it has none yet); without, it never gets one."""

    worker: WorkerId
    replace: bool = False


@dataclass(frozen=True, slots=True)
class Closing:
    """No more tasks will come: stop workers once everything is done."""


@dataclass(frozen=True, slots=True)
class Configured:
    heartbeat_timeout: float
    connect_timeout: float


Event = Union[TasksSubmitted, TasksWithdrawn, WorkerLaunched, WorkerJoined, ResultsArrived,
              Revoked, HeartbeatArrived, WorkerLost, Tick, ReplacementDue, RetireRequested,
              Closing, Configured]

# ----------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class SendTasks:
    """Send these tasks to the worker, each tagged with its attempt number."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class Resolve:
    """Accept this worker's result for the task's current attempt; the task is done."""

    task: TaskId
    worker: WorkerId
    attempt: int


@dataclass(frozen=True, slots=True)
class RevokeTasks:
    """Ask the worker to give back these attempts if it has not started them."""

    worker: WorkerId
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class StopWorker:
    """Ask a worker with an empty queue to exit cleanly."""

    worker: WorkerId


@dataclass(frozen=True, slots=True)
class KillWorker:
    worker: WorkerId
    reason: KillReason


@dataclass(frozen=True, slots=True)
class LaunchReplacement:
    worker: WorkerId  # the worker that went away


@dataclass(frozen=True, slots=True)
class FailTask:
    """The task was running on ``killers`` when each of them died: give up on it."""

    task: TaskId
    killers: tuple[WorkerId, ...]


@dataclass(frozen=True, slots=True)
class NoWorkers:
    """Tasks are pending but no worker is live or starting, and none will be launched."""

    pending: tuple[TaskId, ...]
    ever_joined: bool


Command = Union[SendTasks, Resolve, RevokeTasks, StopWorker, KillWorker, LaunchReplacement,
                FailTask, NoWorkers]
