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


def cut(iterable: Iterable, size: int, lists: bool = True) -> Iterator:
    """The chunks of ``iterable`` that ``chunks`` would give, the same items in the same order.

    A tuple (exactly this type), with ``lists`` a list, or a range cut in chunks of at least
    ``RANGE_SLICES_FROM`` is sliced instead of stepped through: a list's slice is one copy
    of its pointers, and a range's slice is a range, which pickles in a few bytes whatever
    its length and hands the task the very same integers. ``map`` reads its input at once
    and slices lists; ``imap`` reads its input as it goes, and a list may grow meanwhile, so
    it steps through lists as the stdlib does. Anything else (and a range too long for
    ``len()``) is cut by ``chunks``, which calls ``iter()`` only at the first ``next()``: as
    in the stdlib, ``imap(f, 5)`` raises its TypeError at the first result, not in the call.
    """
    t = type(iterable)
    if t is tuple or (lists and t is list) or (t is range and size >= RANGE_SLICES_FROM):
        seq: Any = iterable
        try:
            n = len(seq)
        except OverflowError:  # range(10**20): more items than an index can count
            return chunks(iterable, size)
        return (seq[i:i + size] for i in range(0, n, size))
    return chunks(iterable, size)


# A range pickles through its __reduce__ (a global, a call): ~2.5 us each way here, against
# ~0.4 us for a one-item list and ~1 us for 32 items. Smaller chunks of a range go as lists.
RANGE_SLICES_FROM = 256
