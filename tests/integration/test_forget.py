"""Callables are released when no task uses them (issue 9): on the manager and, by FORGET,
on its workers. 300 distinct callables through one pool leave at most KEEP_IDLE in each."""

import functools
import gc
import threading
import time

import pytest

from netpool import DistributedPool
from netpool._runtime import blobs as B

pytestmark = pytest.mark.timeout(120)


def _add(a, b):
    return a + b


def _worker_cache_size(_=None):
    """On the worker: how many callables its registry (worker/execute.py) holds."""
    from netpool.worker import execute
    regs = [o for o in gc.get_objects() if type(o) is execute.Blobs]
    return max(map(len, regs))


def _wait_for(cond, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)  # polling a condition with a deadline, not synchronising
    return cond()


def test_distinct_callables_do_not_pile_up_in_the_manager_or_the_worker():
    n = 300
    with DistributedPool(1) as pool:
        for i in range(n):
            assert pool.apply(functools.partial(_add, i), (1,)) == i + 1
        registry = pool._rt._blobs
        assert _wait_for(lambda: len(registry) <= B.KEEP_IDLE + 1), len(registry)
        # The FORGETs go with the loop's next rounds: the worker lets go too.
        assert _wait_for(lambda: pool.apply(_worker_cache_size) <= B.KEEP_IDLE + 2), \
            pool.apply(_worker_cache_size)
        # A callable forgotten and defined again runs as it should.
        assert pool.apply(functools.partial(_add, 0), (5,)) == 5


def test_an_imap_keeps_its_function_while_other_callables_come_and_go():
    gate = threading.Event()

    def slow_input():
        yield 1
        assert gate.wait(30)
        yield from range(2, 6)

    with DistributedPool(1) as pool:
        it = pool.imap(functools.partial(_add, 1000), slow_input())
        assert next(it) == 1001
        # Its function is unused between chunks; many others pass through meanwhile.
        for i in range(3 * B.KEEP_IDLE):
            assert pool.apply(functools.partial(_add, i), (0,)) == i
        gate.set()
        assert list(it) == [1002, 1003, 1004, 1005]
