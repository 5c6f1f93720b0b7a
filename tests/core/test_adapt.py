"""The adapt policy (netpool/_core/adapt.py): bounds, responsiveness, and no oscillation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from netpool._core.adapt import Adaptive, Decision, Load

bounds = st.tuples(st.integers(0, 5), st.integers(1, 12)).filter(lambda b: b[1] >= max(b[0], 1))


def load(now=100.0, pending=0, running=0, starting=0, idle=(), busy=(), joined=0.0):
    idle_since = {**{w: since for w, since in idle}, **{w: None for w in busy}}
    return Load(now, pending, running, starting, idle_since, {w: joined for w in idle_since})


def test_grows_for_waiting_work_up_to_maximum():
    a = Adaptive(0, 4, idle_after=5)
    assert a.decide(load(pending=10)) == Decision(grow=4)
    assert a.decide(load(pending=10, starting=3)) == Decision(grow=1)
    assert a.decide(load(pending=2, running=1, busy=[1])) == Decision(grow=2)


def test_starting_workers_count_so_a_queue_wait_launches_nothing_more():
    a = Adaptive(0, 8, idle_after=5)
    assert a.decide(load(pending=3, starting=3)) == Decision()


def test_tasks_queued_behind_a_head_are_work_to_grow_for():
    a = Adaptive(1, 8, idle_after=5)
    assert a.decide(load(running=6, busy=[1])) == Decision(grow=5)


def test_retires_only_long_idle_workers_and_never_below_minimum():
    a = Adaptive(1, 8, idle_after=5)
    idle = [(1, 90.0), (2, 97.0), (3, 80.0)]
    assert a.decide(load(idle=idle)) == Decision(retire=(3, 1))   # 2 idle only 3 s; keep 1
    assert a.decide(load(idle=idle, pending=1)) == Decision()      # work waits: retire nothing
    assert a.decide(load(idle=[(1, 0.0), (2, 0.0)], joined=99.0)) == Decision()  # just joined


def test_grows_from_zero_and_back_to_zero():
    a = Adaptive(0, 3, idle_after=5)
    assert a.decide(load(pending=5)) == Decision(grow=3)
    assert a.decide(load(idle=[(1, 50.0), (2, 50.0), (3, 50.0)])) == Decision(retire=(1, 2, 3))


@pytest.mark.parametrize("args", [(-1, 2), (3, 2), (0, 0), (True, 2), (0, 2.5)])
def test_bad_bounds(args):
    with pytest.raises(ValueError):
        Adaptive(*args)


@settings(max_examples=300, deadline=None)
@given(bounds, st.integers(0, 30), st.integers(0, 30), st.integers(0, 6),
       st.lists(st.floats(0, 200), max_size=10), st.lists(st.booleans(), max_size=10))
def test_never_both_and_always_within_bounds(b, pending, running, starting, idles, busy):
    a = Adaptive(*b, idle_after=10)
    idle_since = {i: (None if (busy[i] if i < len(busy) else False) else t)
                  for i, t in enumerate(idles)}
    ld = Load(200.0, pending, running, starting, idle_since, {i: 0.0 for i in idle_since})
    d = a.decide(ld)
    have = len(idle_since) + starting
    assert not (d.grow and d.retire)
    assert d.grow >= 0 and set(d.retire) <= {w for w, s in idle_since.items() if s is not None}
    after = have + d.grow - len(d.retire)
    if d.grow:
        assert after <= a.maximum
        assert after == min(a.maximum, max(a.minimum, pending + running))
    if d.retire:
        assert after >= a.minimum and pending == 0
    if have < min(a.maximum, max(a.minimum, pending + running)):
        assert d.grow > 0, "work no worker can take must grow the pool"


@settings(max_examples=200, deadline=None)
@given(bounds, st.integers(0, 20), st.integers(0, 20), st.integers(0, 8), st.integers(0, 8),
       st.lists(st.tuples(st.floats(0.1, 30), st.booleans()), min_size=1, max_size=40))
def test_an_unchanging_load_never_oscillates(b, pending, running, live0, starting0, steps):
    """The shell carries out each decision while the load stays the same; workers that were
    starting join as time goes by. The pool may grow or shrink, but never both, and once it
    has what it wants it does nothing more."""
    a = Adaptive(*b, idle_after=10)
    now, next_id = 0.0, live0
    workers = {w: (0.0, 0.0) for w in range(live0)}   # id -> (idle_since, joined_at)
    starting = starting0
    kinds = []
    for dt, join in steps:
        now += dt
        if join and starting:
            starting -= 1
            workers[next_id] = (now, now)
            next_id += 1
        d = a.decide(Load(now, pending, running, starting,
                          {w: s for w, (s, _) in workers.items()},
                          {w: j for w, (_, j) in workers.items()}))
        if d.grow:
            kinds.append("grow")
            starting += d.grow
        if d.retire:
            kinds.append("retire")
            for w in d.retire:
                del workers[w]
    assert len(set(kinds)) <= 1, kinds
    assert kinds.count("grow") <= 1, "grew twice for the same work"
