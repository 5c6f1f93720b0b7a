"""The runtime's use of a journal: which tasks need not run, and who else waits for a result.

The task table hands every task here before the Scheduler sees it, as
``(kind, blob id, payload, buffers)`` plus, for a Context task, the task callable itself
(``Task.ident``: its pickled bytes change from run to run, see ``identity.py``). Each task
gets a key, a digest of its function's fingerprint and its payload, and one of three fates:

* its outcome is in the journal: it is delivered to its sink at once, from the journal,
  and never sent to a worker;
* an identical task (same key) is running: it waits for that one's outcome (a *follower*);
* otherwise it runs, as the *leader* of its key. Its outcome (a value or the task's own
  exception) is journaled when it arrives, and handed to its followers too. A task that ends
  without an outcome of its own (it killed its workers, no worker is left, the pool was
  terminated) is not journaled; its followers end the same way.

Tasks whose function cannot be fingerprinted (nothing can pickle it) are never journaled.
Without a journal (``JournaledTasks(None)``) every method does nothing, cheaply, so that the
runtime calls them unconditionally. Every method runs under the runtime's lock, except
``define`` (any thread) and ``close`` (the loop thread, once no other thread can reach it:
submissions stop reaching the table when the loop ends).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Callable, Iterable, Optional

from .._protocol import messages as M
from .identity import fingerprint
from .journal import Journal

__all__ = ["Journal", "JournaledTasks", "open_journal", "set_default", "key_prefix", "task_key"]

_default_path: Optional[str] = None  # set by `netpool run --journal PATH`


def set_default(path: Optional[str]) -> None:
    """The journal of every pool and manager not given one (``netpool run --journal``)."""
    global _default_path
    _default_path = path


def open_journal(path: "Optional[str | os.PathLike]") -> Optional[Journal]:
    """The journal a pool or manager was given, else the default one, else None.

    Raises ``JournalError`` (see ``Journal``).
    """
    if path is None:
        path = _default_path
    return Journal(path) if path else None


def key_prefix(kind: int, function: bytes) -> Any:
    """The hash state of every task of this kind and function; ``task_key`` finishes it."""
    h = hashlib.blake2b(b"netpool-task-1", digest_size=16)
    h.update(bytes((kind,)))
    h.update(len(function).to_bytes(4, "little"))
    h.update(function)
    return h


def task_key(prefix: Any, payload: Any, bufs: list) -> bytes:
    """The identity of a task: its kind and function's fingerprint, its pickled arguments."""
    h = prefix.copy()
    if bufs:
        for part in (payload, *bufs):
            h.update(memoryview(part).nbytes.to_bytes(8, "little"))
            h.update(part)
    else:
        h.update(payload)
    return h.digest()


class JournaledTasks:
    """The journal's bookkeeping for one runtime: fingerprints, leaders and followers."""

    def __init__(self, journal: Optional[Journal]) -> None:
        self.journal = journal
        self._functions: dict[int, Optional[bytes]] = {0: b""}  # blob id -> fingerprint
        self._names: dict[int, str] = {}
        self._prefixes: dict[tuple, tuple] = {}     # (kind, blob) -> (hash prefix, name)
        self._key_of: dict[int, tuple] = {}         # leader task id -> its key, its name
        self._leader_of: dict[bytes, int] = {}      # key -> task id of the leader
        self._followers: dict[int, list] = {}       # leader task id -> identical tasks

    def define(self, blob: int, obj: Any, name: str) -> None:
        """A callable got its blob id (any thread, once per blob)."""
        if self.journal is not None and blob not in self._functions:
            self._functions[blob] = fingerprint(obj)
            self._names[blob] = name

    def admit(self, tasks: Iterable[Any], to_sink: Callable[..., None]) -> list:
        """The tasks that must run; those the journal has go to their sinks (``to_sink``)."""
        if self.journal is None:
            return list(tasks)
        run = []
        lookup = self.journal.lookup
        for t in tasks:
            key, name = self._key(t)
            if key is None:
                run.append(t)
                continue
            outcome = lookup(key)
            if outcome is not None:
                to_sink(t.sink._deliver, t.id, *outcome, "the journal")
                continue
            leader = self._leader_of.get(key)
            if leader is not None:
                self._followers.setdefault(leader, []).append(t)
                continue
            self._leader_of[key] = t.id
            self._key_of[t.id] = key, name
            run.append(t)
        return run

    def resolved(self, task: Any, status: int, payload: bytes, bufs: list) -> list:
        """A task's outcome arrived: journal it; returns the tasks that wait for it too."""
        key, name = self._key_of.pop(task.id, (None, ""))
        if key is None:
            return []
        del self._leader_of[key]
        self.journal.record(key, status, payload, bufs, name)  # type: ignore[union-attr]
        return self._followers.pop(task.id, [])

    def withdrawn(self, task_id: int) -> list:
        """A task ended without an outcome; returns the tasks that waited for it."""
        key, _ = self._key_of.pop(task_id, (None, ""))
        if key is None:
            return []
        del self._leader_of[key]
        return self._followers.pop(task_id, [])

    def end_of_round(self) -> None:
        """Commit what the round recorded: called last in a round, before its results go to
        their sinks, so that no result reaches the program before it is on disk (a rerun
        never repeats a task whose result the program saw). A round is the batch: in a flood
        of tiny tasks it carries many results, and a commit costs ~100 us."""
        if self.journal is not None and self.journal.flush_due is not None:
            self.journal.flush()

    def due(self) -> float:
        """When the loop must wake to commit (monotonic seconds; inf if nothing waits)."""
        due = self.journal.flush_due if self.journal is not None else None
        return float("inf") if due is None else due

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()

    def _key(self, t: Any) -> tuple:
        """(key, name of the function) of a task, or (None, None) if it is not journaled."""
        kind = t.kind
        try:
            prefix, name = self._prefixes[(kind, t.blob)]
        except KeyError:
            function = self._functions.get(t.blob)
            if function is None:
                return None, None
            prefix, name = self._prefixes[(kind, t.blob)] = (key_prefix(kind, function),
                                                              self._names.get(t.blob, ""))
        payload = t.payload
        if kind == M.CONTEXT:
            ident = t.ident
            name = getattr(ident, "__qualname__", None) or type(ident).__qualname__
            if ident is not None:
                payload = fingerprint(ident)
                if payload is None:
                    return None, None
        return task_key(prefix, payload, t.bufs), name
