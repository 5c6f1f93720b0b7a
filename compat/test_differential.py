"""Differential tests: the same scenario on ``multiprocessing.Pool`` and ``DistributedPool``.

Each test runs one scenario on both pools and compares what comes out: values, exception
*types* (and args where the stdlib fixes them, e.g. ``ValueError("Pool not running")``), and
when callbacks run. Where the two are meant to differ, the test is named ``test_deviation_*``,
asserts both behaviours, and is listed in compat/DEVIATIONS.md.

The two 2-worker pools are module-scoped, so the suite stays fast; a scenario that closes,
terminates or damages its pool makes its own.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import multiprocessing
import multiprocessing.pool
import pickle
import re
import signal
import sys
import threading
import time
import warnings
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netpool
from netpool import errors

import _pool_tasks as T

pytestmark = pytest.mark.timeout(60)

STD, NET = "multiprocessing.Pool", "netpool.DistributedPool"


def make_std(*args: Any, **kwargs: Any) -> multiprocessing.pool.Pool:
    # fork, as the stdlib's default on Linux: the workers import this module's tasks by name.
    return multiprocessing.get_context("fork").Pool(*args, **kwargs)


def make_net(*args: Any, **kwargs: Any) -> netpool.DistributedPool:
    return netpool.DistributedPool(*args, **kwargs)


FACTORIES = {STD: make_std, NET: make_net}


@pytest.fixture(scope="module")
def pools() -> Iterator[dict[str, Any]]:
    made = {STD: make_std(2), NET: make_net(2)}  # the fork first: no netpool threads yet
    yield made
    for p in made.values():
        p.terminate()
        p.join()


@pytest.fixture
def fresh() -> Iterator[Callable[..., dict[str, Any]]]:
    """Makes a pair of pools for one test, terminated at its end."""
    made: list = []

    def make(*args: Any, **kwargs: Any) -> dict[str, Any]:
        pair = {STD: make_std(*args, **kwargs), NET: make_net(*args, **kwargs)}
        made.extend(pair.values())
        return pair

    yield make
    for p in made:
        p.terminate()
        p.join()


# -- comparing outcomes ---------------------------------------------------------------------

def outcome(fn: Callable[[], Any]) -> tuple:
    """("ok", value) or ("raised", exception type)."""
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("raised", type(exc))


def drain(it: Any, limit: int = 100_000) -> list[tuple]:
    """Every outcome of an iterator, an exception not ending it (imap may go on after one)."""
    out = []
    for _ in range(limit):
        try:
            out.append(("ok", next(it)))
        except StopIteration:
            return out
        except Exception as exc:
            out.append(("raised", type(exc)))
    raise AssertionError("the iterator never ended")


def up_to_first_error(outcomes: list[tuple]) -> list[tuple]:
    for i, o in enumerate(outcomes):
        if o[0] == "raised":
            return outcomes[:i + 1]
    return outcomes


def same(pools: dict[str, Any], scenario: Callable[[Any], Any]) -> Any:
    """Run ``scenario`` on both pools; assert equal outcomes; return the stdlib's."""
    got = {name: outcome(lambda p=p: scenario(p)) for name, p in pools.items()}
    assert got[NET] == got[STD], got
    return got[STD]


CHUNKSIZES = [None, 1, 2, 3, 7, 100]
LENGTHS = [0, 1, 5, 17]


# -- values ---------------------------------------------------------------------------------

def test_apply(pools: dict) -> None:
    assert same(pools, lambda p: p.apply(T.square, (7,))) == ("ok", 49)
    assert same(pools, lambda p: p.apply(T.echo, (1, 2), {"k": 3})) == ("ok", ((1, 2), {"k": 3}))
    assert same(pools, lambda p: p.apply(T.echo)) == ("ok", ((), {}))


def test_apply_async(pools: dict) -> None:
    assert same(pools, lambda p: p.apply_async(T.square, (8,)).get(timeout=30)) == ("ok", 64)

    def states(p: Any) -> tuple:
        r = p.apply_async(T.square, (3,))
        r.wait(30)
        return r.ready(), r.successful(), r.get(0), r.wait(0)
    assert same(pools, states) == ("ok", (True, True, 9, None))


def test_get_timeout_and_not_ready(pools: dict) -> None:
    def scenario(p: Any) -> tuple:
        r = p.apply_async(T.slow_square, (2, 0.5))
        try:
            r.get(timeout=0.05)
        except multiprocessing.TimeoutError:
            timed_out = True
        try:
            r.successful()
        except ValueError:
            not_ready = True
        return timed_out, not_ready, r.get(timeout=30)
    assert same(pools, scenario) == ("ok", (True, True, 4))


@pytest.mark.parametrize("chunksize", CHUNKSIZES)
@pytest.mark.parametrize("n", LENGTHS)
def test_map_family(pools: dict, n: int, chunksize: Any) -> None:
    data = list(range(n))
    pairs = [(i, i + 1) for i in data]
    expected = [x * x for x in data]
    assert same(pools, lambda p: p.map(T.square, data, chunksize)) == ("ok", expected)
    assert same(pools, lambda p: p.map_async(T.square, data, chunksize).get(30)) == ("ok", expected)
    assert same(pools, lambda p: p.map(T.square, iter(data), chunksize)) == ("ok", expected)
    products = [a * b for a, b in pairs]
    assert same(pools, lambda p: p.starmap(T.mul, pairs, chunksize)) == ("ok", products)
    assert same(pools, lambda p: p.starmap_async(T.mul, pairs, chunksize).get(30)) == \
        ("ok", products)


@pytest.mark.parametrize("chunksize", [1, 2, 3, 7, 100])
@pytest.mark.parametrize("n", LENGTHS)
def test_imap_family(pools: dict, n: int, chunksize: int) -> None:
    data = list(range(n))
    expected = [("ok", x * x) for x in data]
    assert same(pools, lambda p: drain(p.imap(T.square, data, chunksize))) == ("ok", expected)
    assert same(pools, lambda p: drain(p.imap(T.square, iter(data), chunksize))) == \
        ("ok", expected)
    assert same(pools, lambda p: sorted(drain(p.imap_unordered(T.square, data, chunksize)))) \
        == ("ok", expected)


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_imap_next_timeout(pools: dict, method: str) -> None:
    def scenario(p: Any) -> tuple:
        gate = p.apply_async(T.slow_square, (1, 0.5))
        it = getattr(p, method)(T.square, _blocked_until(gate), 1)
        early = outcome(lambda: it.next(timeout=0.05))
        return early, gate.get(30), it.next(timeout=30), outcome(lambda: it.next(timeout=30))
    assert same(pools, scenario) == ("ok", (("raised", multiprocessing.TimeoutError), 1, 0,
                                            ("raised", StopIteration)))


def _blocked_until(result: Any) -> Iterator[int]:
    """An input whose first item comes only when ``result`` is ready."""
    result.wait(30)
    yield 0


# -- errors in tasks -----------------------------------------------------------------------

def test_task_exception(pools: dict) -> None:
    def scenario(p: Any) -> tuple:
        try:
            p.apply(T.raise_boom, (1, "a"))
        except T.Boom as exc:
            return type(exc), exc.args, type(exc.__cause__), "raise Boom(*args)" in exc.__cause__.tb
    assert same(pools, scenario) == ("ok", (T.Boom, (1, "a"), multiprocessing.pool.RemoteTraceback,
                                           True))


@pytest.mark.parametrize("chunksize", CHUNKSIZES)
def test_map_task_exception(pools: dict, chunksize: Any) -> None:
    data = list(range(20))
    assert same(pools, lambda p: p.map(T.fragile, data, chunksize)) == ("raised", T.Boom)
    assert same(pools, lambda p: p.starmap(T.raise_boom, [(1,), (2,)], chunksize)) == \
        ("raised", T.Boom)
    assert same(pools, lambda p: p.map_async(T.fragile, data, chunksize).get(30)) == \
        ("raised", T.Boom)


def test_imap_task_exception_chunksize_1(pools: dict) -> None:
    # With chunksize 1 both go on after a failed task, each failure at its own position.
    data = list(range(12))
    expected = [("raised", T.Boom) if x % 7 == 3 else ("ok", x * x) for x in data]
    assert same(pools, lambda p: drain(p.imap(T.fragile, data))) == ("ok", expected)
    assert same(pools, lambda p: sorted(drain(p.imap_unordered(T.fragile, data)), key=repr)) == \
        ("ok", sorted(expected, key=repr))


@pytest.mark.parametrize("chunksize", [2, 4])
def test_imap_task_exception_chunked(pools: dict, chunksize: int) -> None:
    # Up to the failed chunk both agree: its failure comes after the chunks before it.
    data = list(range(12))
    assert same(pools, lambda p: up_to_first_error(drain(p.imap(T.fragile, data, chunksize)))) \
        == ("ok", [("ok", x * x) for x in range(0, 3 - 3 % chunksize)] + [("raised", T.Boom)])


def test_deviation_imap_goes_on_after_failed_chunk(pools: dict) -> None:
    # The stdlib's chunked imap is a generator over chunks: a failed chunk ends it.
    # DistributedPool's iterator yields the failure once, then the later chunks.
    data = list(range(12))
    std = drain(pools[STD].imap(T.fragile, data, 2))
    net = drain(pools[NET].imap(T.fragile, data, 2))
    assert std == [("ok", 0), ("ok", 1), ("raised", T.Boom)]
    assert net == [("ok", 0), ("ok", 1), ("raised", T.Boom),  # chunk [2, 3]
                   ("ok", 16), ("ok", 25), ("ok", 36), ("ok", 49), ("ok", 64), ("ok", 81),
                   ("raised", T.Boom)]  # chunk [10, 11]


def test_deviation_chunked_imap_has_next_timeout(pools: dict) -> None:
    std = pools[STD].imap(T.square, range(4), 2)
    net = pools[NET].imap(T.square, range(4), 2)
    assert not hasattr(std, "next")  # a plain generator
    assert net.next(timeout=30) == 0
    assert list(std) == [0, 1, 4, 9] and list(net) == [1, 4, 9]


# -- errors in the input ---------------------------------------------------------------------

def failing_input(total: int, when: int) -> Iterator[int]:
    for i in range(total):
        if i == when:
            raise T.Boom("input", i)
        yield i


@pytest.mark.parametrize("when", [0, 3])
def test_map_input_exception(pools: dict, when: int) -> None:
    def scenario(p: Any) -> tuple:
        try:
            p.map(T.square, failing_input(10, when), 1)
        except T.Boom as exc:
            return exc.args, exc.__cause__  # unwrapped: raised here, not remotely
    assert same(pools, scenario) == ("ok", (("input", when), None))
    assert same(pools, lambda p: p.map(T.square, [1, 2])) == ("ok", [1, 4])  # still usable


@pytest.mark.parametrize("chunksize,when", [(1, 0), (1, 3), (2, 7), (4, 7), (3, 9)])
def test_imap_input_exception_position(pools: dict, chunksize: int, when: int) -> None:
    # The error comes after the results of every full chunk read before it, then the end.
    full = when - when % chunksize
    expected = [("ok", x * x) for x in range(full)] + [("raised", T.Boom)]
    assert same(pools, lambda p: drain(p.imap(T.square, failing_input(20, when), chunksize))) \
        == ("ok", expected)

    def unordered(p: Any) -> list:
        return sorted(drain(p.imap_unordered(T.square, failing_input(20, when), chunksize)),
                      key=repr)
    if chunksize == 1:
        assert same(pools, unordered) == ("ok", sorted(expected, key=repr))
    else:  # the stdlib's chunked iterator ends at the error, losing what completes after it
        std, net = unordered(pools[STD]), unordered(pools[NET])
        assert set(std) <= set(expected) and ("raised", T.Boom) in std
        assert net == sorted(expected, key=repr)


def test_imap_of_a_non_iterable(pools: dict) -> None:
    # The call succeeds; the TypeError comes from next(), as the input is read lazily.
    assert same(pools, lambda p: drain(p.imap(T.square, 5))) == ("ok", [("raised", TypeError)])
    assert same(pools, lambda p: drain(p.imap_unordered(T.square, 5))) == \
        ("ok", [("raised", TypeError)])
    assert same(pools, lambda p: p.map(T.square, 5)) == ("raised", TypeError)


def test_bad_starmap_items(pools: dict) -> None:
    assert same(pools, lambda p: p.starmap(T.mul, [1, 2])) == ("raised", TypeError)


@pytest.mark.parametrize("chunksize", [0, -1])
def test_bad_chunksize(pools: dict, chunksize: int) -> None:
    for call in (lambda p: p.imap(T.square, [1], chunksize),
                 lambda p: p.imap_unordered(T.square, [1], chunksize)):
        assert same(pools, call) == ("raised", ValueError)


@pytest.mark.parametrize("chunksize", [0, -1])
def test_deviation_map_rejects_bad_chunksize(pools: dict, chunksize: int) -> None:
    # The stdlib's map family checks no chunksize: it runs nothing and returns [None] * n.
    for call in (lambda p: p.map(T.square, [1, 2], chunksize),
                 lambda p: p.starmap_async(T.mul, [(1, 2)], chunksize).get(30)):
        assert outcome(lambda: call(pools[STD]))[0] == "ok"
        assert outcome(lambda: call(pools[NET])) == ("raised", ValueError)
    assert pools[STD].map(T.square, [1, 2], chunksize) == [None, None]


# -- what cannot be pickled ------------------------------------------------------------------

def _encoding_error(p: Any, call: Callable[[Any], Any]) -> tuple:
    try:
        call(p)
    except multiprocessing.pool.MaybeEncodingError as exc:
        return type(exc), type(exc.exc), type(exc.value), "Error sending result" in str(exc)


def test_unpicklable_result(pools: dict) -> None:
    want = ("ok", (multiprocessing.pool.MaybeEncodingError, str, str, True))
    assert same(pools, lambda p: _encoding_error(p, lambda p: p.apply(T.unpicklable_result))) \
        == want
    assert same(pools, lambda p: _encoding_error(
        p, lambda p: p.map(T.unpicklable_result, range(4), 2))) == want
    assert same(pools, lambda p: _encoding_error(
        p, lambda p: list(p.imap(T.unpicklable_result, range(2))))) == want
    assert same(pools, lambda p: p.apply(T.square, (4,))) == ("ok", 16)  # no worker lost


def test_unpicklable_exception(pools: dict) -> None:
    assert same(pools, lambda p: p.apply(T.raise_unpicklable)) == \
        ("raised", multiprocessing.pool.MaybeEncodingError)

    def text(p: Any) -> str:  # what a program printing the error shows, addresses masked
        try:
            p.apply(T.raise_unpicklable)
        except multiprocessing.pool.MaybeEncodingError as exc:
            return re.sub("0x[0-9a-f]+", "0x?", str(exc))
        return ""
    assert same(pools, text) == ("ok", "Error sending result: '<multiprocessing.pool."
                                 "ExceptionWithTraceback object at 0x?>'. Reason: "
                                 "'TypeError(\"cannot pickle '_thread.lock' object\")'")


def test_unpicklable_error_callback(pools: dict) -> None:
    def scenario(p: Any) -> tuple:
        seen: list = []
        r = p.apply_async(T.unpicklable_result, callback=seen.append, error_callback=seen.append)
        r.wait(30)
        return [type(x) for x in seen], outcome(r.get)
    assert same(pools, scenario) == ("ok", ([multiprocessing.pool.MaybeEncodingError],
                                            ("raised", multiprocessing.pool.MaybeEncodingError)))


def test_unpicklable_function(pools: dict) -> None:
    func = functools.partial(T.echo, threading.Lock())
    assert same(pools, lambda p: p.apply(func)) == ("raised", TypeError)
    assert same(pools, lambda p: p.map(func, [1, 2], 1)) == ("raised", TypeError)
    assert same(pools, lambda p: drain(p.imap(func, [1, 2]))) == \
        ("ok", [("raised", TypeError), ("raised", TypeError)])
    assert same(pools, lambda p: p.apply(T.square, (5,))) == ("ok", 25)


def test_unpicklable_arguments(pools: dict) -> None:
    lock = threading.Lock()
    assert same(pools, lambda p: p.apply(T.echo, (lock,))) == ("raised", TypeError)
    assert same(pools, lambda p: p.map(T.square, [1, lock, 3], 1)) == ("raised", TypeError)
    assert same(pools, lambda p: drain(p.imap(T.echo, [1, lock, 3]))) == \
        ("ok", [("ok", ((1,), {})), ("raised", TypeError), ("ok", ((3,), {}))])

    def errback(p: Any) -> list:
        seen: list = []
        p.apply_async(T.echo, (lock,), error_callback=seen.append).wait(30)
        return [type(x) for x in seen]
    assert same(pools, errback) == ("ok", [TypeError])
    assert same(pools, lambda p: p.apply(T.square, (5,))) == ("ok", 25)


# -- callbacks --------------------------------------------------------------------------------

def test_callbacks(pools: dict) -> None:
    main = threading.main_thread()

    def scenario(p: Any) -> tuple:
        calls: list = []

        def cb(x: Any) -> None:
            calls.append(("cb", x, threading.current_thread() is main))

        def eb(x: Any) -> None:
            calls.append(("eb", type(x), threading.current_thread() is main))
        p.apply_async(T.square, (3,), callback=cb, error_callback=eb).wait(30)
        p.apply_async(T.raise_boom, (1,), callback=cb, error_callback=eb).wait(30)
        p.map_async(T.square, [1, 2, 3], callback=cb, error_callback=eb).wait(30)
        p.map_async(T.fragile, range(10), 2, callback=cb, error_callback=eb).wait(30)
        p.starmap_async(T.mul, [(2, 3)], callback=cb, error_callback=eb).wait(30)
        return calls  # every callback ran, once, before wait() returned, off the main thread
    assert same(pools, scenario) == ("ok", [("cb", 9, False), ("eb", T.Boom, False),
                                            ("cb", [1, 4, 9], False), ("eb", T.Boom, False),
                                            ("cb", [6], False)])


def test_terminate_in_a_callback(fresh: Callable) -> None:
    def scenario(p: Any) -> tuple:
        done = threading.Event()

        def cb(_: Any) -> None:
            p.terminate()
            done.set()
        r = p.apply_async(T.square, (2,), callback=cb)
        finished = done.wait(30)
        p.join()
        return finished, r.get(0), outcome(lambda: p.apply(T.square, (1,)))
    assert same(fresh(1), scenario) == ("ok", (True, 4, ("raised", ValueError)))


def test_abandoned_imap_does_not_block_join(fresh: Callable) -> None:
    def scenario(p: Any) -> int:
        it = p.imap(T.square, range(2000))
        first = next(it)
        del it
        gc.collect()
        p.close()
        p.join()  # the stdlib runs the rest first; DistributedPool stops reading the input
        return first
    assert same(fresh(2), scenario) == ("ok", 0)


def test_async_result_generic_alias(pools: dict) -> None:
    for p in pools.values():
        r = p.apply_async(T.square, (2,))
        assert type(r)[int].__origin__ is type(r)
        assert r.get(30) == 4


def test_deviation_empty_map_async_calls_its_callback(pools: dict) -> None:
    # The stdlib marks an empty map ready without calling its callback.
    got = {}
    for name, p in pools.items():
        calls: list = []
        p.map_async(T.square, [], callback=calls.append).wait(30)
        got[name] = calls
    assert got == {STD: [], NET: [[]]}


def test_deviation_callback_that_raises() -> None:
    # In the stdlib it kills the result-handler thread: the pool hangs. Not run on it.
    p = make_net(1)
    try:
        def bad(_: Any) -> None:
            raise RuntimeError("callback failed")
        r = p.apply_async(T.square, (2,), callback=bad)
        assert r.get(30) == 4  # printed to stderr, and the result is still delivered
        assert p.apply(T.square, (3,)) == 9
    finally:
        p.terminate()


# -- pool state -------------------------------------------------------------------------------

CALLS_NEEDING_RUN = {
    "apply": lambda p: p.apply(T.square, (1,)),
    "apply_async": lambda p: p.apply_async(T.square, (1,)),
    "map": lambda p: p.map(T.square, [1]),
    "map_async": lambda p: p.map_async(T.square, [1]),
    "starmap": lambda p: p.starmap(T.mul, [(1, 2)]),
    "starmap_async": lambda p: p.starmap_async(T.mul, [(1, 2)]),
    "imap": lambda p: p.imap(T.square, [1]),
    "imap_unordered": lambda p: p.imap_unordered(T.square, [1]),
    "map empty": lambda p: p.map(T.square, []),
    "enter": lambda p: p.__enter__(),
}


def _not_running_errors(p: Any) -> dict:
    out = {}
    for name, call in CALLS_NEEDING_RUN.items():
        try:
            call(p)
            out[name] = None
        except ValueError as exc:
            out[name] = exc.args
    return out


@pytest.mark.parametrize("stop", ["close", "terminate"])
def test_use_after_stop(fresh: Callable, stop: str) -> None:
    pair = fresh(1)
    for p in pair.values():
        getattr(p, stop)()
    assert same(pair, _not_running_errors) == \
        ("ok", {name: ("Pool not running",) for name in CALLS_NEEDING_RUN})
    assert same(pair, lambda p: p.join()) == ("ok", None)
    assert same(pair, lambda p: (p.close(), p.terminate(), p.join())) == ("ok", (None,) * 3)


def test_join_while_running(pools: dict) -> None:
    def scenario(p: Any) -> Any:
        try:
            p.join()
        except ValueError as exc:
            return exc.args
    assert same(pools, scenario) == ("ok", ("Pool is still running",))


def test_close_then_join_finishes_the_work(fresh: Callable) -> None:
    pair = fresh(2)

    def scenario(p: Any) -> list:
        rs = [p.apply_async(T.slow_square, (i, 0.05)) for i in range(6)]
        m = p.map_async(T.square, range(10), 3)
        it = p.imap(T.square, range(5))
        p.close()
        p.join()
        return [r.get(0) for r in rs] + [m.get(0), list(it)]
    assert same(pair, scenario) == ("ok", [i * i for i in range(6)] +
                                    [[i * i for i in range(10)], [i * i for i in range(5)]])


def test_context_manager() -> None:
    def scenario(make: Callable) -> tuple:
        with make(2) as p:
            inside = p.map(T.square, range(4))
            same_object = p.__enter__() is p
        p.join()
        after = outcome(lambda: p.map_async(T.square, [1]))
        again = outcome(lambda: p.__enter__())
        return inside, same_object, after, again
    got = {name: scenario(make) for name, make in FACTORIES.items()}
    assert got[NET] == got[STD] == ([0, 1, 4, 9], True, ("raised", ValueError),
                                    ("raised", ValueError))


def test_context_manager_terminates() -> None:
    # __exit__ is terminate(), not close(): a slow task is cut short, not waited for.
    for make in FACTORIES.values():
        start = time.monotonic()
        with make(1) as p:
            p.apply_async(time.sleep, (30,))
        p.join()
        assert time.monotonic() - start < 15


def test_pickling_the_pool(pools: dict) -> None:
    assert same(pools, lambda p: pickle.dumps(p)) == ("raised", NotImplementedError)


@pytest.mark.parametrize("kwargs,exc", [
    ({"processes": 0}, ValueError), ({"processes": -1}, ValueError),
    ({"processes": 1, "maxtasksperchild": 0}, ValueError),
    ({"processes": 1, "maxtasksperchild": -1}, ValueError),
    ({"processes": 1, "maxtasksperchild": 0.5}, ValueError),
    ({"processes": 1, "maxtasksperchild": "12"}, ValueError),
    ({"processes": 1, "initializer": 1}, TypeError),
])
def test_bad_constructor_arguments(kwargs: dict, exc: type) -> None:
    for make in FACTORIES.values():
        with pytest.raises(exc):
            make(**kwargs)


def test_dropping_a_running_pool_warns() -> None:
    for make in FACTORIES.values():
        p = make(1)
        p.apply(T.square, (1,))
        gc.collect()  # earlier garbage (pools of other tests) must not warn in the block
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            del p
            gc.collect()
        assert sum(str(w.message).startswith("unclosed running multiprocessing pool")
                   for w in caught if w.category is ResourceWarning) == 1, make


def test_terminate_returns_promptly(fresh: Callable) -> None:
    pair = fresh(2)
    for p in pair.values():
        p.map_async(time.sleep, [300] * 1000, chunksize=1)
        start = time.monotonic()
        p.terminate()
        p.join()
        assert time.monotonic() - start < 15


def test_deviation_results_of_a_terminated_pool_fail(fresh: Callable) -> None:
    # The stdlib leaves them pending for ever; DistributedPool fails them at once.
    # Neither calls an error_callback for them: a program's output stays the same.
    pair = fresh(1)
    called: dict = {name: [] for name in pair}
    results = {name: (p.apply_async(time.sleep, (300,), error_callback=called[name].append),
                      p.imap(time.sleep, [300]),
                      p.map_async(time.sleep, [300], error_callback=called[name].append))
               for name, p in pair.items()}
    for p in pair.values():
        p.terminate()
        p.join()
    std, std_it, _ = results[STD]
    assert outcome(lambda: std.get(timeout=0.2)) == ("raised", multiprocessing.TimeoutError)
    assert outcome(lambda: std_it.next(timeout=0.2)) == ("raised", multiprocessing.TimeoutError)
    net, net_it, net_map = results[NET]
    assert outcome(lambda: net.get(timeout=10)) == ("raised", errors.Error)
    assert outcome(lambda: net_map.get(timeout=10)) == ("raised", errors.Error)
    assert called == {STD: [], NET: []}
    # The task that was sent fails; so does the rest of the input, if the feeder had not
    # yet seen its end: an iterator of a terminated pool never ends short without an error.
    got = drain(net_it)
    assert got and set(got) == {("raised", errors.Error)}, got


# -- workers ----------------------------------------------------------------------------------

def test_initializer_with_manager_proxy(fresh: Callable) -> None:
    # Workers reach the parent's Manager with its authkey, as forked workers do.
    with multiprocessing.Manager() as mgr:
        for make in FACTORIES.values():
            ns = mgr.Namespace()
            ns.runs = 0
            p = make(1, T.inc_namespace, (ns,))
            try:
                assert p.apply(T.read_namespace, (ns,)) == 1  # a proxy as an argument too
            finally:
                p.close()
                p.join()
            assert ns.runs == 1


def test_the_arguments_programs_read_back() -> None:
    # Programs read a pool's arguments back from its attributes, as the stdlib keeps them:
    # `pool._processes` for a chunk size, `pool._initargs`, `pool._maxtasksperchild`, and
    # `pool._ctx` (the context it was made with, else the default one).
    spawn = multiprocessing.get_context("spawn")
    for make in (multiprocessing.pool.Pool, netpool.DistributedPool):
        for args, context in (((2, T.square, (3,), 4), None), ((1,), spawn)):
            p = make(*args, context=context)
            try:
                assert (p._processes, p._initializer, p._initargs, p._maxtasksperchild) == \
                    (args + (None, (), None))[:4], make
                assert p._ctx is (context or multiprocessing.get_context()), make
            finally:
                p.terminate()
                p.join()


def test_the_job_number_progress_idioms_poll(pools: dict) -> None:
    # Progress trackers poll `pool._cache[r._job]._number_left * ._chunksize`: every result
    # has its job number, in the order made, and is in _cache under it until done.
    for p in pools.values():
        with multiprocessing.Manager() as mgr:
            gate = mgr.Event()
            r = p.starmap_async(T.wait_then_mul, [(gate, i, 2) for i in range(8)], 2)
            assert p._cache[r._job] is r
            assert (r._number_left * r._chunksize, r._chunksize) == (8, 2)
            gate.set()
            assert r.get(30) == [2 * i for i in range(8)]
        assert r._job not in p._cache
        jobs = [p.apply_async(T.square, (1,))._job, p.map_async(T.square, [])._job,
                p.imap(T.square, [1])._job]
        assert jobs == sorted(jobs) and len(set(jobs)) == 3 and jobs[0] > r._job, jobs


def test_all_processes_run_at_once(fresh: Callable) -> None:
    # The behavioural part of test_make_pool: Pool(3) runs three tasks at the same time.
    with multiprocessing.Manager() as mgr:
        pair = fresh(3)
        for p in pair.values():
            barrier = mgr.Barrier(3, timeout=30)
            assert len(set(p.map(T.barrier_wait, [barrier] * 3, 1))) == 3


def test_maxtasksperchild_replaces_workers(fresh: Callable) -> None:
    # The behavioural part of test_pool_worker_lifetime: workers are replaced, results kept.
    pair = fresh(2, maxtasksperchild=2)
    for p in pair.values():
        results = [p.apply_async(T.pid) for _ in range(12)]
        pids = [r.get(30) for r in results]
        assert len(set(pids)) >= 6, pids
        assert p.map(T.square, range(20), 1) == [x * x for x in range(20)]


def test_deviation_worker_death(fresh: Callable) -> None:
    # The stdlib replaces the dead worker but loses its task: get() never returns.
    # DistributedPool reruns it elsewhere; one that keeps killing workers fails.
    pair = fresh(2)
    assert outcome(lambda: pair[STD].apply_async(T.die).get(timeout=2)) == \
        ("raised", multiprocessing.TimeoutError)
    assert outcome(lambda: pair[NET].apply_async(T.die).get(timeout=30)) == \
        ("raised", errors.PoisonTaskError)
    assert pair[NET].apply(T.square, (3,)) == 9


def test_deviation_failing_initializer() -> None:
    # The stdlib restarts workers whose initializer fails, for ever: tasks never run.
    std = make_std(1, T.failing_initializer)
    try:
        assert outcome(lambda: std.apply_async(T.square, (1,)).get(timeout=1)) == \
            ("raised", multiprocessing.TimeoutError)
    finally:
        std.terminate()
        std.join()
    net = make_net(1, T.failing_initializer)
    try:
        assert outcome(lambda: net.apply_async(T.square, (1,)).get(timeout=30)) == \
            ("raised", errors.WorkerStartError)
    finally:
        net.terminate()


def test_deviation_lambdas_and_closures(pools: dict) -> None:
    k = 3
    assert outcome(lambda: pools[STD].apply(lambda x: x * k, (2,)))[0] == "raised"
    assert pools[NET].apply(lambda x: x * k, (2,)) == 6
    assert pools[NET].map(lambda x: x + k, range(3)) == [3, 4, 5]
    p = make_net(1, initializer=lambda: T.setenv("NETPOOL_INIT", str(k)))
    try:
        assert p.apply(T.getenv, ("NETPOOL_INIT",)) == "3"
    finally:
        p.terminate()


def test_deviation_workers_are_not_the_callers_children(pools: dict) -> None:
    # A stdlib worker is a child of the pool's process; a local netpool worker is the child of
    # its supervisor, itself a child of the pool's process. Neither kind is a
    # multiprocessing.Process of the caller's, so active_children() does not list them.
    me = os.getpid()
    std = set(pools[STD].map(T.parent_and_grandparent, range(8), 1))
    net = set(pools[NET].map(T.parent_and_grandparent, range(8), 1))
    assert {parent for parent, _ in std} == {me}
    assert me not in {parent for parent, _ in net} and {grand for _, grand in net} == {me}
    assert len(pools[NET]._pool) == 2
    children = {p.pid for p in multiprocessing.active_children()}
    assert {w.pid for w in pools[STD]._pool} <= children
    assert not {w.pid for w in pools[NET]._pool} & children


def test_deviation_input_is_read_lazily(pools: dict) -> None:
    # The stdlib's task thread reads the whole input at once; ours stays a window ahead.
    n = 5000
    for name, p in pools.items():
        source = T.Counter(n)
        it = p.imap(T.square, source)
        assert next(it) == 0
        if name == STD:
            deadline = time.monotonic() + 30
            while source.pulled < n and time.monotonic() < deadline:
                time.sleep(0.01)
            assert source.pulled == n
        else:
            assert source.pulled < n // 10
        assert list(it) == [x * x for x in range(1, n)]


# -- sizes ------------------------------------------------------------------------------------

def test_large_result(fresh: Callable) -> None:
    pair = fresh(2)
    assert same(pair, lambda p: len(p.apply(T.large, (1 << 20,)))) == ("ok", 1 << 20)
    assert same(pair, lambda p: p.map(T.large, [1 << 18] * 4, 2)) == ("ok", [b"x" * (1 << 18)] * 4)
    assert same(pair, lambda p: p.apply(T.raise_large, (1 << 20,))) == ("raised", ValueError)


def test_large_arguments(pools: dict) -> None:
    blob = b"y" * (1 << 20)
    assert same(pools, lambda p: p.apply(len, (blob,))) == ("ok", 1 << 20)
    assert same(pools, lambda p: p.map(len, [blob] * 4, 2)) == ("ok", [1 << 20] * 4)


# -- random inputs ----------------------------------------------------------------------------

@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.lists(st.integers(-50, 50), max_size=30),
       chunksize=st.one_of(st.none(), st.integers(1, 12)))
def test_random_map_imap_starmap(pools: dict, data: list, chunksize: Any) -> None:
    pairs = list(zip(data, reversed(data)))
    assert same(pools, lambda p: p.map(T.fragile, data, chunksize)) == \
        outcome(lambda: list(map(T.fragile, data)))
    assert same(pools, lambda p: p.starmap(T.mul, pairs, chunksize)) == \
        ("ok", list(itertools.starmap(T.mul, pairs)))
    imap_cs = chunksize or 1
    expected = [outcome(lambda x=x: T.fragile(x)) for x in data]
    if imap_cs == 1:
        assert same(pools, lambda p: drain(p.imap(T.fragile, data, 1))) == ("ok", expected)
    else:  # the stdlib stops at a failed chunk (test_deviation_imap_goes_on_after_failed_chunk)
        assert same(pools, lambda p: up_to_first_error(drain(p.imap(T.fragile, data, imap_cs)))) \
            == ("ok", _chunked(expected, imap_cs))
    got = same(pools, lambda p: sorted(drain(p.imap_unordered(T.square, data, imap_cs))))
    assert got == ("ok", sorted(("ok", x * x) for x in data))


def _chunked(outcomes: list, chunksize: int) -> list:
    """What chunked imap yields up to its first error: the items of the whole chunks before
    the failed one, then one failure for that whole chunk."""
    for i, o in enumerate(outcomes):
        if o[0] == "raised":
            return outcomes[:i - i % chunksize] + [o]
    return outcomes


def test_deviation_unloadable_result_raises_from_get(pools: dict) -> None:
    # An exception that cannot be rebuilt in the parent kills the stdlib's result-handler
    # thread (the pool then hangs; not run on it). DistributedPool raises the decoding error.
    with pytest.raises(TypeError):
        pools[NET].apply(T.raise_two_arg_error)
    assert pools[NET].apply(T.square, (2,)) == 4


def test_deviation_base_exception_in_task(fresh: Callable) -> None:
    # SystemExit in a task kills a stdlib worker and its task is lost; DistributedPool's
    # worker reports it like any exception, and get() re-raises it in the caller.
    pair = fresh(1)
    assert outcome(lambda: pair[STD].apply_async(T.raise_system_exit).get(timeout=2)) == \
        ("raised", multiprocessing.TimeoutError)
    with pytest.raises(SystemExit) as info:
        pair[NET].apply(T.raise_system_exit, (3,))
    assert info.value.code == 3
    assert pair[NET].apply(T.square, (2,)) == 4


def test_sigint_in_a_task_raises_keyboard_interrupt_there(fresh: Callable) -> None:
    # Ctrl-C reaches every process of the terminal: a task may catch it, as in the stdlib.
    pair = fresh(1)
    for p in pair.values():
        assert p.apply(T.self_sigint_caught) == "caught"


def test_deviation_sigint_interrupts_only_the_task(fresh: Callable) -> None:
    # A stdlib worker dies of an uncaught KeyboardInterrupt and its task is lost; ours gives
    # it as the task's exception, and a SIGINT between tasks is ignored (the parent, which
    # Ctrl-C reached too, decides what stops).
    pair = fresh(1)
    assert outcome(lambda: pair[STD].apply_async(T.self_sigint).get(timeout=2)) == \
        ("raised", multiprocessing.TimeoutError)
    with pytest.raises(KeyboardInterrupt):
        pair[NET].apply(T.self_sigint)
    pid = pair[NET].apply(T.own_pid)
    os.kill(pid, signal.SIGINT)
    assert pair[NET].apply(T.own_pid) == pid  # the same worker, still serving


def test_workers_inherit_parent_state_as_forked_workers_do(
        monkeypatch: pytest.MonkeyPatch, fresh: Callable) -> None:
    # Local workers are forked, as the stdlib's default on Linux: state the parent changed
    # at run time, before the pool was made, is seen by the tasks.
    monkeypatch.setattr(T, "PARENT_STATE", "changed in the parent")
    pair = fresh(1)
    assert pair[STD].apply(T.read_parent_state) == "changed in the parent"
    assert pair[NET].apply(T.read_parent_state) == "changed in the parent"


def test_spawn_context_workers_do_not_inherit_parent_state(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # With a spawn context (or python= given) workers are fresh interpreters that import
    # the task's module, so state the parent changed at run time is not seen, as under spawn.
    monkeypatch.setattr(T, "PARENT_STATE", "changed in the parent")
    spawn = multiprocessing.get_context("spawn")
    pools = [spawn.Pool(1), make_net(1, context=spawn),
             make_net(1, python=sys.executable)]
    try:
        assert [p.apply(T.read_parent_state) for p in pools] == ["as imported"] * 3
    finally:
        for p in pools:
            p.terminate()


def test_proxies_work_on_a_network_pool() -> None:
    # The parent's multiprocessing authkey reaches workers that are fresh interpreters also
    # when the pool listens on a network address: sealed with the pool's own key, which
    # never travels (_compat.seal). Forked workers have it from the fork, as the stdlib's.
    with multiprocessing.Manager() as mgr:
        ns = mgr.Namespace()
        ns.runs = 0
        p = make_net(1, T.setenv, ("NETPOOL_INIT", "remote"), host="0.0.0.0",
                     python=sys.executable)
        forked = make_net(1, host="0.0.0.0")
        try:
            assert p.apply(T.getenv, ("NETPOOL_INIT",)) == "remote"  # initializer ran
            assert p.apply(T.read_namespace, (ns,)) == 0
            assert forked.apply(T.read_namespace, (ns,)) == 0
        finally:
            p.terminate()
            forked.terminate()


def test_deviation_types_are_netpool_own(pools: dict) -> None:
    # Same methods and exceptions, but not subclasses of the stdlib's classes.
    net = pools[NET]
    assert not isinstance(net, multiprocessing.pool.Pool)
    r = net.apply_async(T.square, (2,))
    assert not isinstance(r, multiprocessing.pool.ApplyResult)
    assert isinstance(r, netpool.pool.AsyncResult) and r.get(30) == 4
    assert repr(net).startswith("<DistributedPool state=RUN")
