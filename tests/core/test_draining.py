"""Walltime-aware draining in the core: the pure timer (_core/walltime.py) and the two events
it feeds the Scheduler (ReplacementDue, RetireRequested)."""

from __future__ import annotations

import pytest

from netpool._core import scheduler as S
from netpool._core.walltime import MARGIN, Walltimes, lead


def sched(replace=True, window=4):
    s = S.Scheduler(S.Config(window=window, replace=replace, heartbeat_timeout=1e9,
                             connect_timeout=1e9, steal_after=1e9))
    for w in (1, 2):
        s.handle(S.WorkerLaunched(w, 0.0))
        s.handle(S.WorkerJoined(w, 0.0))
    return s


def of(cmds, kind):
    return [c for c in cmds if isinstance(c, kind)]


def test_timer_launches_the_successor_early_then_drains_before_the_end():
    t = Walltimes()
    t.joined(7, now=100.0, left=60.0)           # ends at 160
    assert lead(60.0) == 6.0
    assert t.due(100.0, lambda w: 0.5, lambda w: True) == []
    assert t.due(153.9, lambda w: 0.5, lambda w: True) == []
    assert t.due(154.0, lambda w: 0.5, lambda w: True) == [S.ReplacementDue(7)]
    drain_at = 160.0 - MARGIN - 0.75
    assert t.next_time() <= drain_at
    assert t.due(drain_at - 0.01, lambda w: 0.5, lambda w: True) == []
    assert t.due(drain_at, lambda w: 0.5, lambda w: True) == [S.RetireRequested(7, True)]
    assert t.next_time() is None and t.due(1e9, lambda w: 0.5, lambda w: True) == []


def test_long_tasks_drain_earlier_and_a_lost_worker_is_forgotten():
    t = Walltimes()
    t.joined(1, 0.0, 3600.0)
    t.joined(2, 0.0, 3600.0)
    events = []
    now = 0.0
    while t.next_time() is not None and now < 4000:
        now = t.next_time()
        events += [(now, e) for e in t.due(now, lambda w: 600.0, lambda w: w == 1)]
    retire = [n for n, e in events if isinstance(e, S.RetireRequested)]
    assert [e.worker for _, e in events] == [1]   # worker 2 gone: nothing for it
    assert retire and 3600 - MARGIN - 900 - 36 <= retire[0] <= 3600 - MARGIN - 900


def test_retire_revokes_waiting_tasks_finishes_the_head_and_launches_a_successor():
    s = sched()
    out = s.handle(S.TasksSubmitted(tuple(range(8))))
    on1 = tuple(a for c in of(out, S.SendTasks) if c.worker == 1 for a in c.attempts)
    assert [t for t, _ in on1] == list(s.running_on(1)) and len(on1) > 1
    out = s.handle(S.RetireRequested(1, replace=True))
    assert of(out, S.LaunchReplacement) == [S.LaunchReplacement(1)]
    assert of(out, S.RevokeTasks) == [S.RevokeTasks(1, on1[1:])]
    assert s.worker_state(1) == S.DRAINING
    out = s.handle(S.Revoked(1, on1[1:], 1.0))
    assert not of(out, S.SendTasks) or all(c.worker != 1 for c in of(out, S.SendTasks))
    out = s.handle(S.ResultsArrived(1, on1[:1], 2.0))
    assert of(out, S.StopWorker) == [S.StopWorker(1)]
    out = s.handle(S.WorkerLost(1, graceful=True))
    assert not of(out, S.LaunchReplacement), "its successor was already launched"


def test_a_retiring_worker_cut_off_at_its_walltime_is_not_charged():
    s = S.Scheduler(S.Config(window=1, replace=False, max_attempts=1, heartbeat_timeout=1e9,
                             connect_timeout=1e9))
    for w in (1, 2):
        s.handle(S.WorkerLaunched(w, 0.0))
        s.handle(S.WorkerJoined(w, 0.0))
    s.handle(S.TasksSubmitted((10, 11)))
    head = s.running_on(1)[0]
    s.handle(S.RetireRequested(1))
    out = s.handle(S.WorkerLost(1, graceful=False))   # SIGKILLed by the scheduler anyway
    assert not of(out, S.FailTask), "a walltime kill is not the task's fault"
    assert head in s.pending or head in s.running_on(2)


def test_replacement_due_once_and_only_while_replacing():
    s = sched()
    assert of(s.handle(S.ReplacementDue(1)), S.LaunchReplacement) == [S.LaunchReplacement(1)]
    assert not s.handle(S.ReplacementDue(1))
    out = s.handle(S.WorkerLost(1))
    assert not of(out, S.LaunchReplacement), "one successor per worker"
    assert not of(sched(replace=False).handle(S.ReplacementDue(1)), S.LaunchReplacement)


def test_retire_without_replace_never_brings_a_successor():
    s = sched()
    out = s.handle(S.RetireRequested(2))
    assert of(out, S.StopWorker) == [S.StopWorker(2)] and not of(out, S.LaunchReplacement)
    assert not of(s.handle(S.WorkerLost(2, graceful=True)), S.LaunchReplacement)
