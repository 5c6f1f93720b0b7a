"""The standard library's chunking rule, so that DistributedPool splits work as Pool does."""

from __future__ import annotations

from itertools import islice
from typing import Iterable, Iterator, Optional


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
