"""The callable registry's reference counts (blobs.py): what is used is kept, what is not is
forgotten, at most KEEP_IDLE unused ones are kept for reuse."""

import functools
import gc

import pytest

from netpool._runtime import blobs as B
from netpool._runtime.tasks import Task

pytestmark = pytest.mark.timeout(60)


def _add(a, b):
    return a + b


def _task(tid, blob):
    return Task(tid, 0, blob, b"", [], sink=None)


def test_a_callable_no_task_uses_is_forgotten_past_the_reuse_limit():
    reg = B.Blobs()
    first = reg.define(functools.partial(_add, -1))
    reg.release(first)
    assert reg.take_forgotten() == [] and len(reg) == 1  # kept for reuse
    for i in range(B.KEEP_IDLE):
        reg.release(reg.define(functools.partial(_add, i)))
    assert reg.take_forgotten() == [first]
    assert len(reg) == B.KEEP_IDLE
    again = reg.define(functools.partial(_add, -1))  # the same bytes: a new id
    assert again != first and reg.data(again)


def test_a_submitted_task_keeps_its_callable_until_the_task_is_gone():
    reg = B.Blobs()
    bid = reg.define(functools.partial(_add, -1))
    task = _task(1, bid)
    reg.retain([task])
    reg.release(bid)
    for i in range(3 * B.KEEP_IDLE):
        reg.release(reg.define(functools.partial(_add, i)))
    assert bid not in reg.take_forgotten() and reg.data(bid)
    del task
    gc.collect()
    for i in range(B.KEEP_IDLE):
        reg.release(reg.define(functools.partial(_add, 1000 + i)))
    assert bid in reg.take_forgotten()


@pytest.mark.parametrize("hold_given", ["by retain", "by release"])
def test_a_task_takes_over_defines_hold(hold_given):
    """``retain(tasks, release=bid)`` (an apply's one lock round) counts as retain then
    release: the callable goes once the task is gone, not before, and not never."""
    reg = B.Blobs()
    bid = reg.define(functools.partial(_add, -1))
    task = _task(1, bid)
    if hold_given == "by retain":
        reg.retain([task], release=bid)
    else:
        reg.retain([task])
        reg.release(bid)
    for i in range(2 * B.KEEP_IDLE):
        reg.release(reg.define(functools.partial(_add, i)))
    assert bid not in reg.take_forgotten() and reg.data(bid)
    del task
    gc.collect()
    for i in range(B.KEEP_IDLE):
        reg.release(reg.define(functools.partial(_add, 5000 + i)))
    assert bid in reg.take_forgotten()


def test_a_module_function_is_found_by_identity_again_after_it_was_forgotten():
    reg = B.Blobs()
    bid = reg.define(_add)
    reg.release(bid)
    for i in range(B.KEEP_IDLE):
        reg.release(reg.define(functools.partial(_add, i)))
    assert reg.take_forgotten() == [bid]
    new = reg.define(_add)
    assert new != bid and reg.data(new)


def test_a_task_counted_twice_is_counted_once():
    reg = B.Blobs()
    bid = reg.define(functools.partial(_add, -1))
    task = _task(1, bid)
    reg.retain([task])
    reg.retain([task])  # withdrawal re-accepts the twins it had: never counted again
    reg.release(bid)
    del task
    gc.collect()
    reg.take_forgotten()
    assert reg._refs[bid] == 0
