"""imap and imap_unordered yield results as they arrive, whatever the pace of their input.

The feeder sends what it reads in batches; these tests check that a batch never waits for
the input to go on: not for a slow generator, not for an input that waits for the results.
"""

import queue
import time

import pytest

import netpool

pytestmark = pytest.mark.timeout(90)

N = 40
PACE = 0.05  # seconds between items of the slow input: its pace, not synchronisation


@pytest.fixture(scope="module")
def pool():
    with netpool.DistributedPool(2) as p:
        p.map(abs, range(4), 1)  # both workers up: only the input's pace is measured
        yield p


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_first_result_of_a_slow_input_comes_long_before_its_end(pool, method):
    produced = []

    def slow():
        for i in range(N):
            time.sleep(PACE)
            produced.append(i)
            yield i

    it = getattr(pool, method)(lambda x: x * 10, slow())
    first = it.next(timeout=60)
    read_by_then = len(produced)
    rest = list(it)
    assert sorted([first] + rest) == [10 * i for i in range(N)]
    # A held batch would release its first result only once the input ends (all N read).
    # Here it comes after the first item or so; a quarter of the input leaves room for load.
    assert read_by_then <= N // 4, f"first result only after {read_by_then} of {N} items"


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
def test_a_pipeline_whose_input_waits_for_its_results_completes(pool, method):
    results: queue.Queue = queue.Queue()
    results.put(0)

    def fed_back():
        for _ in range(30):
            # Bounded, so that a deadlock fails here (queue.Empty at its place in the
            # output) instead of hanging the test.
            yield results.get(timeout=20)

    out = []
    for r in getattr(pool, method)(lambda x: x + 1, fed_back()):
        out.append(r)
        results.put(r)
    assert out == list(range(1, 31))


def test_a_fast_input_still_comes_out_whole_and_in_order(pool):
    assert list(pool.imap(lambda x: x - 1, range(5000))) == list(range(-1, 4999))
    assert sorted(pool.imap_unordered(lambda x: x, range(5000), 7)) == list(range(5000))
    assert list(pool.imap(lambda x: -x, iter(range(1001)), 100)) == [-x for x in range(1001)]
