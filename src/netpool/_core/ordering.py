"""Reorder buffer for ``imap``: results arrive in any order and leave in input order."""

from __future__ import annotations

from typing import Any


class ReorderBuffer:
    """Holds results that arrived early until every result before them has arrived.

    ``put(index, value)`` returns the values that became deliverable, in order. Memory holds
    only results that arrived ahead of a missing one.
    """

    __slots__ = ("_next", "_early")

    def __init__(self) -> None:
        self._next = 0
        self._early: dict[int, Any] = {}

    @property
    def next_index(self) -> int:
        return self._next

    def __len__(self) -> int:
        return len(self._early)

    def put(self, index: int, value: Any) -> list:
        if index < self._next or index in self._early:
            raise ValueError(f"result {index} delivered twice")
        if index != self._next:
            self._early[index] = value
            return []
        out = [value]
        self._next += 1
        early = self._early
        while self._next in early:
            out.append(early.pop(self._next))
            self._next += 1
        return out
