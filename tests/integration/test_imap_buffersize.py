"""``imap``/``imap_unordered(..., buffersize=N)``, as Python 3.15 adds them (gh-64192): at
most N chunks of the lazy input are read ahead of the results handed out."""

import itertools
import threading

import pytest

import netpool
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(90)


def ident(x):
    return x


class Counting:
    """An endless input that records how far it has been read."""

    def __init__(self):
        self.pulled = 0
        self.lock = threading.Lock()

    def __iter__(self):
        for i in itertools.count():
            with self.lock:
                self.pulled += 1
            yield i


@pytest.fixture(scope="module")
def pool():
    with netpool.DistributedPool(2) as p:
        yield p


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
@pytest.mark.parametrize("buffersize, exc, msg", [
    (0, ValueError, "buffersize must be None or >= 1"),
    (-3, ValueError, "buffersize must be None or >= 1"),
    (2.0, TypeError, "buffersize must be an integer or None"),
    ("4", TypeError, "buffersize must be an integer or None"),
])
def test_bad_buffersize_raises_in_the_call(pool, method, buffersize, exc, msg):
    read = Counting()
    with pytest.raises(exc, match=msg):
        getattr(pool, method)(ident, read, buffersize=buffersize)
    assert read.pulled == 0  # and nothing was read


@pytest.mark.parametrize("method", ["imap", "imap_unordered"])
@pytest.mark.parametrize("chunksize", [1, 3])
def test_input_is_read_at_most_buffersize_chunks_ahead(pool, method, chunksize):
    read, n = Counting(), 4
    it = getattr(pool, method)(ident, read, chunksize=chunksize, buffersize=n)
    got = []
    for taken in range(12):
        # the window fills up to exactly n chunks ahead of what was handed out, no further
        wait_for(lambda: read.pulled >= (len(got) // chunksize + n) * chunksize, 30,
                 what="the feeder to fill the window")
        assert read.pulled <= (-(-len(got) // chunksize) + n) * chunksize
        got.append(next(it))
    if method == "imap":
        assert got == list(range(12))
    assert len(set(got)) == 12


def test_without_buffersize_the_window_is_wider(pool):
    """The check above has teeth: the default window reads far past 4 chunks."""
    read = Counting()
    it = pool.imap(ident, read)
    assert next(it) == 0
    wait_for(lambda: read.pulled > 4 + 1 + 10, 30, what="the default window to read ahead")


def test_buffersize_gives_the_same_results(pool):
    for n in (1, 2, 7):
        assert list(pool.imap(ident, range(50), chunksize=3, buffersize=n)) == list(range(50))
        assert sorted(pool.imap_unordered(ident, range(50), buffersize=n)) == list(range(50))


def test_close_after_a_partial_read_does_not_hang():
    """CPython's gh-155477: close() and join() after a partly read buffersize imap."""
    p = netpool.DistributedPool(2)
    it = p.imap(ident, range(1000), buffersize=2)
    assert next(it) == 0
    p.close()
    p.join(60)
    assert not p._rt.alive, "join() returned with the pool still running"
    rest = list(it)  # what had been read before close() is there; then the input ends
    assert rest == list(range(1, 1 + len(rest))) and len(rest) <= 3


def test_close_after_a_partial_read_without_buffersize_finishes_the_input():
    """As the stdlib's imap, which has read all of its input: every result comes."""
    p = netpool.DistributedPool(2)
    it = p.imap(ident, range(1000))
    assert next(it) == 0
    p.close()
    p.join(60)
    assert list(it) == list(range(1, 1000))
