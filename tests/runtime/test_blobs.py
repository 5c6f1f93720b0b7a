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
    reg.retain([task])  # handed on again: never counted twice
    reg.release(bid)
    del task
    gc.collect()
    reg.take_forgotten()
    assert reg._refs[bid] == 0


def _script(source):
    """Functions as a script defines them: their module is ``__main__``, so they travel by
    value as well as by reference."""
    space = {"__name__": "__main__"}
    exec(compile(source, "<script>", "exec"), space)
    return space


@pytest.fixture
def pickled(monkeypatch):
    """How many times the registry ran cloudpickle & co. on a callable."""
    calls = []
    real = B.codec.dumps_callable
    monkeypatch.setattr(B.codec, "dumps_callable", lambda obj: calls.append(obj) or real(obj))
    return calls


def test_a_script_function_is_pickled_once_while_what_it_names_stays_bound(pickled):
    space = _script("import math\nSCALE = 3\ndef helper(x):\n    return math.sqrt(x)\n"
                    "def f(x, k=2):\n    return helper(x) * SCALE * k\n")
    reg = B.Blobs()
    ids = [reg.define(space["f"]) for _ in range(3)]
    assert len(set(ids)) == 1 and len(pickled) == 1


@pytest.mark.parametrize("rebind", ["a constant", "a helper it calls", "its defaults",
                                    "its code"])
def test_a_script_function_is_pickled_again_once_a_name_it_reads_is_rebound(pickled, rebind):
    space = _script("SCALE = 3\ndef helper(x):\n    return x + 1\n"
                    "def f(x, k=2):\n    return helper(x) * SCALE * k\n")
    f, reg = space["f"], B.Blobs()
    first = reg.define(f)
    if rebind == "a constant":
        space["SCALE"] = 4
    elif rebind == "a helper it calls":
        exec("def helper(x):\n    return x + 2\n", space)
    elif rebind == "its defaults":
        f.__defaults__ = (5,)
    else:
        f.__code__ = _script("def g(x, k=2):\n    return x\n")["g"].__code__
    second = reg.define(f)
    assert len(pickled) == 2 and second != first
    assert reg.data(second) != reg.data(first)


@pytest.mark.parametrize("source", [
    "CFG = {'a': 1}\ndef f(x):\n    return x + CFG['a']\n",      # a dict, changed in place
    "SEEN = []\ndef f(x):\n    return len(SEEN)\n",              # a list
    "class K:\n    a = 1\ndef f(x):\n    return K.a\n",            # a class of the script
    "SEEN = []\npush = SEEN.append\ndef f(x):\n    return push(x)\n",  # a bound method
])
def test_a_script_function_naming_what_can_change_in_place_is_pickled_every_time(pickled,
                                                                                  source):
    f, reg = _script(source)["f"], B.Blobs()
    for _ in range(3):
        reg.release(reg.define(f))
    assert len(pickled) == 3
