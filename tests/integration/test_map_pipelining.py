"""map_async sends its first chunk before it cuts and pickles the rest, as the stdlib's task
handler does: the workers start while the caller is still pickling."""

import os
import time

import pytest

import netpool

pytestmark = pytest.mark.timeout(120)

CHUNK = 5
GIVE_UP = 40.0  # seconds the input waits for the first chunk to run before it reads on


class WaitsForFirstChunk:
    """A sized input whose second chunk is read only once the first has run on a worker
    (seen from a file the task makes), or ``GIVE_UP`` seconds have passed."""

    def __init__(self, n: int, marker: str) -> None:
        self.n, self.marker = n, marker
        self.first_ran_before_second_read = None

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        for i in range(self.n):
            if i == CHUNK:
                deadline = time.monotonic() + GIVE_UP
                while not os.path.exists(self.marker) and time.monotonic() < deadline:
                    time.sleep(0.01)  # polling a file the worker makes, bounded
                self.first_ran_before_second_read = os.path.exists(self.marker)
            yield i


def test_first_chunk_runs_while_the_rest_is_being_read(tmp_path):
    marker = str(tmp_path / "first-chunk-ran")

    def mark(x):
        if x == 0:
            open(marker, "w").close()
        return x + 1

    data = WaitsForFirstChunk(4 * CHUNK, marker)
    with netpool.DistributedPool(2) as pool:
        assert pool.map(mark, data, CHUNK) == list(range(1, 4 * CHUNK + 1))
    assert data.first_ran_before_second_read is True


def test_a_chunk_that_cannot_be_pickled_fails_the_call_after_earlier_chunks_went_out():
    with netpool.DistributedPool(2) as pool:
        items = list(range(3 * CHUNK)) + [lambda: 0]  # plain pickle fails, cloudpickle copes
        assert len(pool.map(repr, items, CHUNK)) == 3 * CHUNK + 1
        r = pool.map_async(abs, list(range(2 * CHUNK)) + [object.__new__(Unpicklable)], CHUNK)
        with pytest.raises(TypeError, match="no pickling"):
            r.get(60)
        assert r._number_left == 0
        assert pool.map(abs, range(-3, 0)) == [3, 2, 1]  # the pool goes on


class Unpicklable:
    def __reduce__(self):
        raise TypeError("no pickling")


@pytest.mark.parametrize("data", [range(-7, 3001, 3), tuple(range(2000)), list(range(2000))],
                         ids=["range", "tuple", "list"])
def test_sliced_inputs_give_what_stepped_inputs_give(data):
    """map slices lists, tuples and ranges (a range's slice travels as a range), imap slices
    tuples and ranges: every result is the one of the input stepped through."""
    want = [x * 2 for x in data]
    with netpool.DistributedPool(2) as pool:
        for chunksize in (1, 300, 5000):
            assert pool.map(_double, data, chunksize) == want
            assert list(pool.imap(_double, data, chunksize)) == want
            assert sorted(pool.imap_unordered(_double, data, chunksize)) == sorted(want)
            assert pool.starmap(_add, zip(data, data), chunksize) == want


def _double(x):
    return 2 * x


def _add(x, y):
    return x + y


def test_imap_of_a_range_too_long_for_len_still_reads_lazily():
    with netpool.DistributedPool(2) as pool:
        it = pool.imap(_double, range(10**20), 1000)
        assert [it.next(timeout=60) for _ in range(3)] == [0, 2, 4]
        big = range(10**20, 10**20 + 3000)  # sliced: ranges of big ints travel as well
        assert list(pool.imap(_double, big, 1000)) == [2 * x for x in big]
