"""A task's callable as the stdlib's workers see it: pickled with every task, so a callable
object (an instance with ``__call__``, a bound method, a partial) starts each task (each
chunk of a map) as the caller sent it, never with what an earlier task did to it; a function
is the worker's own, module state and all."""

from __future__ import annotations

import functools
import multiprocessing

import pytest

import _tasks
from netpool import DistributedPool

pytestmark = pytest.mark.timeout(60)

POOLS = {"stdlib": lambda: multiprocessing.get_context("fork").Pool(1),
         "netpool": lambda: DistributedPool(1)}


@pytest.fixture(params=sorted(POOLS))
def pool(request):
    with POOLS[request.param]() as p:
        yield p


@pytest.mark.parametrize("make", [
    lambda: _tasks.Tally(),
    lambda: _tasks.Tally().bump,
    lambda: functools.partial(_tasks.append_to, []),
], ids=["instance", "bound method", "partial"])
def test_a_callable_object_starts_every_task_as_sent(pool, make):
    func = make()
    assert [pool.apply(func) for _ in range(3)] == [1, 1, 1]
    assert pool.map(func, range(6), chunksize=2) == [1, 2] * 3
    assert [r.get(10) for r in [pool.apply_async(func) for _ in range(3)]] == [1, 1, 1]
    assert sorted(pool.imap_unordered(func, range(4))) == [1] * 4


def test_a_callable_object_carries_the_state_it_had_when_sent(pool):
    func = _tasks.Tally()
    func.calls = 10
    assert pool.apply(func) == 11
    func.calls = 20
    assert pool.apply(func) == 21


def test_a_function_stays_the_worker_s_own(pool):
    # By reference on both pools: its attributes (like module globals) live on in the worker.
    assert [pool.apply(_tasks.count_calls) for _ in range(3)] == [1, 2, 3]
