"""netpool.Executor beyond CPython's own tests (compat/test_cpython_executor.py): what a
network executor adds (reruns, PoisonTaskError), cancellation reaching the runtime, which
thread runs callbacks, and map's buffersize and validation."""

import concurrent.futures as cf
import itertools
import os
import pickle
import signal
import threading

import pytest

import netpool
from tests._tasks import always_die, die_once, getpid, sleep_then, slow_first_time
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(90)


def square(x):
    return x * x


def touch(path):
    with open(path, "w"):
        pass
    return path


def fail_init():
    raise ValueError("no init for you")


@pytest.fixture
def ex():
    with netpool.Executor(2) as e:
        yield e


def test_is_a_standard_executor_with_standard_futures(ex):
    assert isinstance(ex, cf.Executor)
    f = ex.submit(square, 7)
    assert isinstance(f, cf.Future)
    assert f.result(timeout=30) == 49
    done, not_done = cf.wait([ex.submit(square, i) for i in range(5)], timeout=30)
    assert not not_done and sorted(d.result() for d in done) == [0, 1, 4, 9, 16]
    assert sorted(f.result() for f in cf.as_completed(
        [ex.submit(square, i) for i in range(4)], timeout=30)) == [0, 1, 4, 9]


def test_map_in_order_with_chunks_and_several_iterables(ex):
    assert list(ex.map(square, range(20), chunksize=3)) == [x * x for x in range(20)]
    assert list(ex.map(pow, range(6), range(6), chunksize=4)) == [pow(x, x) for x in range(6)]
    assert list(ex.map(square, [])) == []


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(chunksize=0), ValueError, "chunksize must be >= 1"),
    (dict(buffersize=0), ValueError, "buffersize must be None or >= 1"),
    (dict(buffersize=-1), ValueError, "buffersize must be None or >= 1"),
    (dict(buffersize=2.0), TypeError, "buffersize must be an integer or None"),
    (dict(buffersize="3"), TypeError, "buffersize must be an integer or None"),
])
def test_map_validates_as_the_stdlib(ex, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        ex.map(square, range(3), **kwargs)


def test_map_buffersize_reads_the_input_lazily(ex):
    pulled = []

    def numbers():
        for i in itertools.count():
            pulled.append(i)
            yield i

    it = ex.map(square, numbers(), buffersize=3)
    assert pulled == [0, 1, 2]  # only the window, before any result is asked for
    assert [next(it) for _ in range(5)] == [0, 1, 4, 9, 16]
    # each result handed out lets one more input in: 5 taken, 3 ahead of them at most
    assert len(pulled) <= 5 + 3
    it.close()  # leaving early cancels what is not running; an infinite input is fine


def test_callbacks_run_on_the_loop_thread_and_may_submit(ex):
    seen = []
    done = threading.Event()

    def callback(fut):
        seen.append((threading.current_thread().name, fut.result()))
        if len(seen) == 1:  # a callback may submit the next step
            ex.submit(square, 3).add_done_callback(callback)
        else:
            done.set()

    ex.submit(square, 2).add_done_callback(callback)
    assert done.wait(30)
    assert seen == [("netpool-loop", 4), ("netpool-loop", 9)]


def test_cancelling_a_pending_future_takes_its_task_back(tmp_path):
    with netpool.Executor(1, window=1) as ex:
        marker = str(tmp_path / "busy")
        busy = ex.submit(slow_first_time, marker, "first")
        wait_for(lambda: os.path.exists(marker), 30, what="the first task to start")
        late = str(tmp_path / "never")
        queued = ex.submit(touch, late)
        assert queued.cancel() and queued.cancelled()
        assert not busy.cancel() and busy.running()  # on a worker: too late, as the stdlib
        os.kill(int(open(marker).read()), signal.SIGKILL)  # end the long first run
        assert busy.result(timeout=60) == "first"  # rerun on a replacement worker
        assert ex.submit(square, 5).result(timeout=30) == 25
    assert not os.path.exists(late), "a cancelled task ran"
    assert cf.wait([queued], timeout=0).done == {queued}


def test_shutdown_cancel_futures_takes_back_what_no_worker_has(tmp_path):
    ex = netpool.Executor(1, window=1)
    marker = str(tmp_path / "busy")
    ex.submit(sleep_then, 0.5, "x", marker)
    wait_for(lambda: os.path.exists(marker), 30, what="the first task to start")
    rest = [ex.submit(touch, str(tmp_path / f"t{i}")) for i in range(10)]
    ex.shutdown(wait=True, cancel_futures=True)
    assert all(f.cancelled() for f in rest)
    assert not list(tmp_path.glob("t*"))
    with pytest.raises(RuntimeError, match="cannot schedule new futures after shutdown"):
        ex.submit(square, 1)


def test_a_dead_workers_task_is_rerun_not_broken(tmp_path):
    with netpool.Executor(2) as ex:
        f = ex.submit(die_once, str(tmp_path / "m"), "survived")
        assert f.result(timeout=60) == "survived"
        assert ex.submit(square, 4).result(timeout=30) == 16  # the executor is not broken


def test_a_task_that_keeps_killing_workers_is_poison(ex):
    f = ex.submit(always_die)
    exc = f.exception(timeout=90)
    assert isinstance(exc, netpool.PoisonTaskError)
    assert "always_die" in str(exc) and len(exc.deaths) == 3
    assert ex.submit(square, 6).result(timeout=30) == 36


def test_task_errors_carry_the_remote_traceback(ex):
    f = ex.submit(int, "not a number")
    with pytest.raises(ValueError) as info:
        f.result(timeout=30)
    assert isinstance(info.value.__cause__, cf.process._RemoteTraceback)


def test_unpicklable_argument_fails_that_future_only(ex):
    f = ex.submit(square, threading.Lock())
    assert isinstance(f.exception(timeout=5), (TypeError, pickle.PicklingError))
    assert ex.submit(square, 3).result(timeout=30) == 9


def test_a_failing_initializer_fails_the_futures_with_a_start_error():
    ex = netpool.Executor(1, initializer=fail_init)
    try:
        f = ex.submit(square, 2)
        exc = f.exception(timeout=60)
        # Never BrokenProcessPool: the start error names the workers and how they ended.
        assert isinstance(exc, netpool.WorkerStartError)
        assert "worker 0" in str(exc)
    finally:
        ex.shutdown(wait=False)


def test_shutdown_from_a_callback_does_not_deadlock():
    ex = netpool.Executor(1)
    done = threading.Event()

    def stop(fut):
        ex.shutdown(wait=True)  # on the loop thread: returns at once
        done.set()

    ex.submit(square, 2).add_done_callback(stop)
    assert done.wait(30)
    ex.shutdown(wait=True)


def test_max_tasks_per_child_recycles_workers():
    with netpool.Executor(1, max_tasks_per_child=2) as ex:
        pids = [ex.submit(getpid).result(timeout=30) for _ in range(4)]
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[0] != pids[2]


@pytest.mark.parametrize("kwargs, exc", [
    (dict(max_workers=0), ValueError), (dict(max_workers=-1), ValueError),
    (dict(max_tasks_per_child=0), ValueError), (dict(max_tasks_per_child=1.5), TypeError),
    (dict(initializer=3), TypeError),
])
def test_bad_constructor_arguments(kwargs, exc):
    with pytest.raises(exc):
        netpool.Executor(**kwargs)
