"""What DistributedPool does beyond multiprocessing.Pool: never hang on a dead worker,
carry lambdas, stream lazily around slow tasks, move arrays out of band."""

import os
import pickle
import time

import numpy as np
import pytest

import netpool
from netpool import _imap
from _tasks import always_die, die_once, pid_after, slow_first_time
from conftest import pid_alive, wait_for

pytestmark = pytest.mark.timeout(60)


def test_worker_killed_during_map_loses_nothing(tmp_path):
    marker = str(tmp_path / "died")
    with netpool.DistributedPool(2) as pool:
        out = pool.map(lambda x: die_once(marker, x) if x == 7 else x, range(40), chunksize=2)
        assert out == list(range(40))
        assert os.path.exists(marker)


def test_worker_killed_from_outside_during_imap_unordered(tmp_path):
    marker = tmp_path / "pid"
    with netpool.DistributedPool(2) as pool:
        it = pool.imap_unordered(
            lambda x: slow_first_time(str(marker), x) if x == 0 else pid_after(0.05) and x,
            range(30))
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), what="slow task"))
        os.kill(pid, 9)
        assert sorted(it) == list(range(30))
        assert not pid_alive(pid)
        wait_for(lambda: pool._rt.worker_count() == 2, what="the replacement worker")


def test_poison_task_fails_with_a_picklable_error_naming_it():
    with netpool.DistributedPool(2) as pool:
        res = pool.apply_async(always_die)
        ok = pool.map(abs, [-1, -2])
        with pytest.raises(netpool.PoisonTaskError) as info:
            res.get(timeout=30)
        assert ok == [1, 2]
        text = str(info.value)
        assert "always_die" in text and text.count("killed by SIGKILL") == 3
        assert str(pickle.loads(pickle.dumps(info.value))) == text
        assert pool.apply(abs, (-5,)) == 5  # the pool is fine


def test_a_slow_task_does_not_hold_up_imap_unordered():
    with netpool.DistributedPool(2) as pool:
        start = time.monotonic()
        it = pool.imap_unordered(lambda x: time.sleep(3 if x == 0 else 0.01) or x, range(60))
        fast = [next(it) for _ in range(59)]
        elapsed = time.monotonic() - start
        assert sorted(fast) == list(range(1, 60)) and elapsed < 2.5, elapsed
        assert next(it) == 0


def test_infinite_imap_pulls_input_lazily():
    pulled = []

    def numbers():
        n = 0
        while True:
            pulled.append(n)
            yield n
            n += 1

    with netpool.DistributedPool(2) as pool:
        it = pool.imap(lambda x: x * 2, numbers())
        assert [next(it) for _ in range(100)] == [2 * x for x in range(100)]
        wait_for(lambda: len(pulled) > 100, what="the feeder to run ahead")
        time.sleep(0.2)  # an observation window, not synchronisation: time to overrun
        # bounded window ahead of the reader: 8 + 2 workers x 32 slots x 2, and the read-ahead
        assert len(pulled) <= 100 + 136 + _imap.READ_AHEAD + 1
        assert len(pulled) > 100 + 136  # ... and the read-ahead taken: tiny chunks get it


def test_big_chunks_are_not_read_further_ahead():
    """The read-ahead is for small chunks: 256 more chunks of 100 KB would be 25 MB."""
    pulled = []

    def blobs():
        while True:
            pulled.append(1)
            yield b"x" * 100_000

    with netpool.DistributedPool(2) as pool:
        it = pool.imap(len, blobs())
        assert [next(it) for _ in range(100)] == [100_000] * 100
        wait_for(lambda: len(pulled) > 100 + 68, what="the feeder to run ahead")
        time.sleep(0.2)  # an observation window, not synchronisation: time to overrun
        assert len(pulled) <= 100 + 136 + 1


def test_large_arrays_round_trip_writable():
    a = np.random.default_rng(0).random(1 << 20)  # 8 MB
    with netpool.DistributedPool(1) as pool:
        back = pool.apply(np.negative, (a,))
        assert np.array_equal(back, -a) and back.flags.writeable
        doubled = pool.starmap(np.multiply, [(a, 2)] * 2)
        assert all(np.array_equal(d, a * 2) for d in doubled)


def test_closures_and_initializer_lambdas():
    factor = 3
    mark = "initialized"
    with netpool.DistributedPool(2, initializer=lambda m: os.environ.__setitem__("NP_INIT", m),
                                 initargs=(mark,)) as pool:
        assert pool.map(lambda x: x * factor, range(5)) == [0, 3, 6, 9, 12]
        assert set(pool.map(lambda _: os.environ.get("NP_INIT"), range(8), chunksize=1)) == {mark}


def test_callbacks_may_submit_more_work_and_run_on_one_thread():
    """Callbacks run on the loop thread outside the runtime's lock: one that submits the next
    step must not deadlock, and each step's result must arrive exactly once."""
    import threading
    done = threading.Event()
    seen, threads = [], set()

    with netpool.DistributedPool(2) as pool:
        def step(value):
            threads.add(threading.get_ident())
            seen.append(value)
            if value < 20:
                pool.apply_async(lambda x: x + 1, (value,), callback=step)
            else:
                done.set()
        pool.apply_async(lambda x: x + 1, (0,), callback=step)
        assert done.wait(30), f"chain stopped at {seen[-1:]}"
    assert seen == list(range(1, 21))
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_many_threads_submitting_at_once_lose_nothing():
    """Submitters race for the runtime's lock (sending themselves) and for the inbox."""
    from concurrent.futures import ThreadPoolExecutor
    with netpool.DistributedPool(2) as pool:
        def client(k):
            results = [pool.apply_async(pow, (k, i)) for i in range(40)]
            return [r.get(30) for r in results]
        with ThreadPoolExecutor(8) as ex:
            out = list(ex.map(client, range(8)))
    assert out == [[k ** i for i in range(40)] for k in range(8)]
