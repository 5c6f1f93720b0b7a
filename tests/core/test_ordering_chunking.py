"""ReorderBuffer (imap's input order) and the stdlib chunking rule, checked against the stdlib."""

from __future__ import annotations

import collections
import itertools
import sys
from multiprocessing.pool import Pool, ThreadPool
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

try:
    import netpool._core.ordering  # noqa: F401
except ImportError:  # a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from netpool._core.chunking import (RANGE_SLICES_FROM, check_chunksize, chunks, cut,
                                    default_chunksize)
from netpool._core.ordering import ReorderBuffer

pytestmark = pytest.mark.timeout(120)


# --------------------------------------------------------------------------- ReorderBuffer


@given(st.integers(0, 60).flatmap(lambda n: st.permutations(range(n))))
def test_any_arrival_order_leaves_in_input_order(order):
    buf = ReorderBuffer()
    out, seen = [], set()
    for i in order:
        missing = buf.next_index
        delivered = buf.put(i, f"v{i}")
        seen.add(i)
        if i == missing:  # it unblocks itself and the run of early ones behind it
            assert delivered[0] == f"v{i}"
        else:
            assert delivered == []
        out.extend(delivered)
        assert buf.next_index == len(out)
        # only results held up behind a missing one stay in memory
        assert len(buf) == sum(1 for j in seen if j >= buf.next_index)
    assert out == [f"v{i}" for i in range(len(order))]
    assert len(buf) == 0


@given(st.integers(1, 30).flatmap(
    lambda n: st.tuples(st.permutations(range(n)), st.integers(0, n - 1), st.integers(0, n))))
def test_a_duplicate_raises_and_changes_nothing(case):
    """A second result for an index, whether delivered already or still held early."""
    order, dup_of, at = case
    at = max(at, order.index(dup_of) + 1)  # the duplicate comes after the original
    buf = ReorderBuffer()
    out = []
    for i in order[:at]:
        out.extend(buf.put(i, i))
    held = (buf.next_index, len(buf))
    with pytest.raises(ValueError, match="twice"):
        buf.put(dup_of, "again")
    assert (buf.next_index, len(buf)) == held
    for i in order[at:]:
        out.extend(buf.put(i, i))
    assert out == list(range(len(order)))


def test_reorder_buffer_examples():
    buf = ReorderBuffer()
    assert buf.put(2, "c") == [] and buf.put(1, "b") == [] and len(buf) == 2
    assert buf.put(0, "a") == ["a", "b", "c"] and len(buf) == 0
    assert buf.put(3, None) == [None]  # None is a value like any other
    with pytest.raises(ValueError):
        buf.put(1, "b")


# --------------------------------------------------------------------------- chunking


def stdlib_chunksize(n_items: int, n_workers: int) -> int:
    """multiprocessing.pool.Pool._map_async (CPython 3.11), verbatim but for names."""
    chunksize, extra = divmod(n_items, n_workers * 4)
    if extra:
        chunksize += 1
    if n_items == 0:
        chunksize = 0
    return chunksize


@given(st.integers(1, 10**7), st.integers(1, 1000))
def test_default_chunksize_is_the_stdlib_formula(n_items, n_workers):
    assert default_chunksize(n_items, n_workers) == stdlib_chunksize(n_items, n_workers)


def test_default_chunksize_edges():
    # The stdlib says 0 for an empty iterable and never makes a chunk; netpool says 1
    # (a valid size) and makes no chunk either. A pool of no workers counts as one.
    assert default_chunksize(0, 4) == 1
    assert list(chunks([], default_chunksize(0, 4))) == []
    assert default_chunksize(10, 0) == default_chunksize(10, 1) == 3
    assert [default_chunksize(n, 2) for n in (1, 7, 8, 9, 16, 17)] == [1, 1, 1, 2, 2, 3]


@pytest.mark.parametrize("n_workers", [1, 2, 3, 5])
def test_default_chunksize_matches_a_real_stdlib_pool(n_workers):
    """Differential: the chunksize a real (thread) Pool picks, read off its MapResult."""
    with ThreadPool(n_workers) as pool:
        for n_items in [1, 2, 3, 4, 7, 8, 9, 19, 20, 21, 100, 1001]:
            result = pool.map_async(abs, range(n_items))
            result.get(timeout=30)
            assert default_chunksize(n_items, n_workers) == result._chunksize, n_items


@given(st.lists(st.integers(), max_size=50), st.integers(1, 12))
def test_chunks_cut_like_the_stdlib(items, size):
    got = list(chunks(iter(items), size))
    assert [x for chunk in got for x in chunk] == items
    assert all(len(chunk) == size for chunk in got[:-1])
    assert all(1 <= len(chunk) <= size for chunk in got)
    assert len(got) == -(-len(items) // size)
    stdlib = [list(batch) for _, batch in Pool._get_tasks(None, iter(items), size)]
    assert got == stdlib


def test_chunks_are_lazy():
    first = list(itertools.islice(chunks(itertools.count(), 3), 2))
    assert first == [[0, 1, 2], [3, 4, 5]]
    assert all(isinstance(chunk, list) for chunk in first)


@pytest.mark.parametrize("bad", [0, -1, -1000])
def test_check_chunksize_says_what_the_stdlib_says(bad):
    with ThreadPool(1) as pool, pytest.raises(ValueError) as stdlib:
        pool.imap(abs, [1], chunksize=bad)
    with pytest.raises(ValueError) as ours:
        check_chunksize(bad)
    assert str(ours.value) == str(stdlib.value)


@settings(max_examples=20)
@given(st.none() | st.integers(1, 10**6))
def test_check_chunksize_accepts_none_and_positive(chunksize):
    check_chunksize(chunksize)


@given(st.integers(-600, 600), st.integers(-600, 600), st.sampled_from([1, 2, -3]),
       st.sampled_from([1, 2, 5, 12, 256, 300]), st.booleans(),
       st.sampled_from([list, tuple, range, bytes, "other"]))
def test_cut_gives_the_items_chunks_gives(start, stop, step, size, lists, kind):
    r = range(start, stop, step)
    if kind is range:
        seq = r
    elif kind is bytes:
        seq = bytes(x % 256 for x in r)  # sized, not sliced: stepped through as before
    elif kind == "other":
        seq = collections.deque(r)
    else:
        seq = kind(r)
    got = list(cut(seq, size, lists=lists))
    assert [list(c) for c in got] == list(chunks(seq, size))
    if kind is range and size >= RANGE_SLICES_FROM:  # a few bytes whatever its length
        assert all(type(c) is range for c in got)
    elif kind is range or kind == "other" or (kind is list and not lists):
        assert all(type(c) is list for c in got)


def test_cut_of_a_big_range_pickles_small():
    import pickle
    (chunk,) = list(cut(range(10**6), 10**6))
    assert len(pickle.dumps(chunk, 5)) < 100
    assert list(chunk) == list(range(10**6))


def test_cut_of_a_range_too_long_for_len_steps_through_it():
    got = cut(range(10**20), 300, lists=False)  # imap of it reads lazily, as before
    assert next(got) == list(range(300))


def test_cut_of_other_inputs_calls_iter_at_the_first_chunk():
    got = cut(5, 3)  # as the stdlib's imap(f, 5): the TypeError comes with the first result
    with pytest.raises(TypeError):
        next(got)
