"""The standard library's chunking rule, so that DistributedPool splits work as Pool does."""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterable, Iterator, Optional


def default_chunksize(n_items: int, n_workers: int) -> int:
    """``multiprocessing.Pool``'s rule: about four chunks per worker."""
    chunksize, extra = divmod(n_items, max(n_workers, 1) * 4)
    return chunksize + 1 if extra else max(chunksize, 1)


def check_chunksize(chunksize: Optional[int]) -> None:
    if chunksize is not None and chunksize < 1:
        raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))


def chunks(iterable: Iterable, size: int) -> Iterator[list]:
    """Lazily cut an iterable into lists of ``size`` items (the last may be shorter)."""
    it = iter(iterable)
    while True:
        chunk = list(islice(it, size))
        if not chunk:
            return
        yield chunk


_SLICEABLE = (list, tuple, range)


def cut(iterable: Iterable, size: int) -> Iterator:
    """``map``'s chunks of a sized input: the items ``chunks`` would give, in the same order.

    A list, tuple or range (exactly these types) is sliced instead of stepped through: a
    list's slice is one copy of its pointers, and a range's slice is a range, which pickles
    in a few bytes whatever its length and hands the task the very same integers.
    """
    if type(iterable) in _SLICEABLE:
        seq: Any = iterable
        return (seq[i:i + size] for i in range(0, len(seq), size))
    return chunks(iterable, size)
