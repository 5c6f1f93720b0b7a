"""The runtime's use of a journal: which tasks need not run.

The task table hands every task here before the Scheduler sees it, as
``(kind, blob id, payload, buffers)`` plus, for a Context task, the task callable itself
(``Task.ident``: its pickled bytes change from run to run, see ``identity.py``). Each task
gets a key (its function's id, from the function's fingerprint and the pool's initializer
and initargs, and its payload's bytes when they are small, else a digest of both:
``RAW_LIMIT``). The k-th identical call of a run of the program has the k-th occurrence of
that key (``_occurrence``; the first is the key itself), and one of two fates:

* that occurrence's outcome is in the journal, from an earlier run: it is delivered to its
  sink at once, from the journal, and never sent to a worker;
* otherwise it runs. Its outcome (a value or the task's own exception) is journaled when it
  arrives. A task that ends without an outcome of its own (it killed its workers, no worker
  is left, the pool was terminated) is not journaled. Nor is a ``KeyboardInterrupt``: the
  task did not end by itself (Ctrl-C reached its worker), and a rerun after a Ctrl-C must
  run it again, not replay the interruption.

Tasks whose function cannot be fingerprinted (nothing can pickle it) are never journaled.
Without a journal (``JournaledTasks(None)``) every method does nothing, cheaply, so that the
runtime calls them unconditionally. Every method runs under the runtime's lock, except
``define`` (any thread) and ``close`` (the loop thread, once no other thread can reach it:
submissions stop reaching the table when the loop ends).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from itertools import islice
from math import inf
from typing import Any, Callable, Optional, Sequence

from .._protocol import messages as M
from .identity import fingerprint
from .journal import BATCH_ROWS, Batch, Journal
from .journalformat import DIGEST
from .stats import raised_type

__all__ = ["Journal", "JournaledTasks", "open_journal", "set_default", "key_prefix", "task_key",
           "environment_of"]

log = logging.getLogger("netpool")
_default_path: Optional[str] = None  # set by `netpool run --journal PATH`
_CONTEXT, _RAISED = M.CONTEXT, M.RAISED

# How long a round's results may wait for other rounds' to share their commit, while other
# tasks are in flight. Longer amortises a commit (~35 us of CPU, ~100 us in a busy pool)
# over more tiny tasks but holds their results back. Measured with a flood of tiny tasks
# (docs/journal.md): ~145 outcomes a commit at 1 ms, ~200 at 2 ms, ~225 at 3 ms.
# An imap reads 256 chunks further ahead than its workers' windows take (pool.py,
# ``READ_AHEAD``), so that what is held does not take tasks from the workers meanwhile.
HOLD_SECONDS = 0.002
HOLD_OUTCOMES = 256   # ... or until this many outcomes wait


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


# Arguments pickled in this many bytes or fewer are their task's key themselves, after the
# function's identity: no digest to compute (~0.3 us of the manager's loop a task), and no
# collision possible. A digest key is 16 bytes; a raw key at least 17 (a pickle is never
# empty), so the two never meet.
RAW_LIMIT = 128


def key_prefix(kind: int, function: bytes, environment: bytes = b"") -> Any:
    """The hash state of every task of this kind and function run in this environment (a
    pool's initializer and initargs, ``environment_of``); ``task_key`` finishes it."""
    h = hashlib.blake2b(b"netpool-task-1", digest_size=16)
    h.update(bytes((kind,)))
    h.update(len(function).to_bytes(4, "little"))
    h.update(function)
    if environment:  # none: the keys of the journals written before it counted
        h.update(b"\x00environment")  # a pickle never starts so: no task's payload follows
        h.update(environment)
    return h


def environment_of(initializer: Optional[Callable], initargs: Sequence) -> Optional[bytes]:
    """What a pool's workers run before its tasks, as it counts in their keys: b"" for no
    initializer, its fingerprint else, None if it cannot be pickled (its tasks are then not
    journaled: a result that depends on what it set up could not be told from another
    pool's). A task that reads what its initializer set is a function of that too."""
    if initializer is None:
        return b""
    return fingerprint((initializer, tuple(initargs)))  # locks count by type (identity.py)


def task_key(prefix: Any, payload: Any, bufs: list) -> bytes:
    """The digest key of a task: its kind and function's fingerprint, its pickled arguments."""
    h = prefix.copy()
    if bufs:
        for part in (payload, *bufs):
            h.update(memoryview(part).nbytes.to_bytes(8, "little"))
            h.update(part)
    else:
        h.update(payload)
    return h.digest()


class JournaledTasks:
    """The journal's bookkeeping for one runtime: fingerprints, keys and their occurrences."""

    def __init__(self, journal: Optional[Journal], environment: Optional[bytes] = b"") -> None:
        self.journal = journal
        # The pool's initializer and initargs (``environment_of``); None: nothing journaled.
        self._environment = environment
        if journal is not None and environment is None:
            log.warning("netpool: this pool's tasks are not journaled in %s: its initializer "
                        "and initargs cannot be pickled, and its tasks' results may depend on "
                        "them", journal.path)
        self._functions: dict[int, Optional[bytes]] = {0: b""}  # blob id -> fingerprint
        self._names: dict[int, str] = {}
        self._prefixes: dict[tuple, tuple] = {}     # (kind, blob) -> (hash prefix, mark)
        self._later: dict[tuple, tuple] = {}        # function -> (table, function) of its
                                                    # later occurrences (``_occurrence_mark``)
        # Arguments up to this size are their own key (``RAW_LIMIT``); none in a journal
        # whose keys are all digests (``Journal.digests``).
        self._raw = -1 if journal is None or journal.digests else RAW_LIMIT
        self._held: list = []                       # sink calls waiting for a commit
        self._held_since: Optional[float] = None    # monotonic time the first was held
        # How many sink calls the round has made so far (set by ``Commands``; None: not
        # known, as in tests driving this class alone), and how many of them a commit during
        # the round (``HOLD_OUTCOMES`` reached) covered: those go at the round's end, not with
        # the next commit (``end_of_round``).
        self.calls_made: Optional[Callable[[], int]] = None
        self._split = 0
        # A journaled task carries its *mark* (``Task.journal``): (its function's table of keys,
        # the function as the journal records it, the rest of its key or None when that is
        # its payload). A task with small arguments shares its function's mark: nothing is
        # built for it. Its key is in that table, pointing to the task while it runs and to
        # its outcome's batch once recorded: one lookup and one insertion per task at
        # admission, one replacement at its outcome, nothing per task at the commit.

    def define(self, blob: int, obj: Any, name: str) -> None:
        """A callable got its blob id (any thread, once per blob)."""
        if self.journal is not None and blob not in self._functions:
            self._functions[blob] = fingerprint(obj)
            self._names[blob] = name

    def admit(self, tasks: list, to_sink: Callable[..., None]) -> list:
        """The tasks that must run; those the journal has go to their sinks (``to_sink``)."""
        if self.journal is None:
            return tasks
        # The common case, for as long as it lasts: small arguments of a known function,
        # a key not seen before (its first occurrence). The key is the arguments' bytes in
        # the function's table, and one probe puts the task there.
        raw = self._raw
        kind = blob = mark = claim = None
        for t in tasks:
            payload = t.payload
            if t.blob != blob or t.kind != kind:
                kind, blob = t.kind, t.blob
                mark = None if kind == _CONTEXT else self._prefix(kind, blob)[1]
                if mark is None:
                    break
                claim = mark[0].setdefault
            if t.bufs or len(payload) > raw or claim(payload, t) is not t:
                break
            t.journal = mark
        else:
            return tasks
        return self._admit_rest(tasks, tasks.index(t), to_sink)

    def _admit_rest(self, tasks: list, start: int, to_sink: Callable[..., None]) -> list:
        """``admit`` from ``tasks[start]`` on, every case."""
        journal = self.journal
        run = tasks[:start]
        for t in islice(tasks, start, None):
            mark = self._mark(t)
            if mark is None:  # nothing can pickle the function: it is not journaled
                run.append(t)
                continue
            table, function, rest = mark
            if rest is None:
                rest = t.payload
            known = table.setdefault(rest, t)
            if known is not t:  # met before: which occurrence of its key is this call?
                n = self._occurrence(function[0], rest, known)
                if n:
                    mark = self._occurrence_mark(function, rest, n)
                    table, function, rest = mark
                    known = table.setdefault(rest, t)
                if known is not t:  # recorded by an earlier run (never running: see above)
                    outcome = journal.outcome(function[0], rest)  # type: ignore[union-attr]
                    if outcome is not None:
                        to_sink(t.sink._deliver, t.id, *outcome, "the journal")
                        continue
                    table[rest] = t  # damaged: ``outcome`` forgot it; this task runs it
            t.journal = mark
            run.append(t)
        return run

    def _occurrence(self, function: bytes, rest: bytes, known: Any) -> int:
        """Which occurrence of the key (function, rest) a call is, its key having been met
        before (``known``: its entry in the table); counts it as taken.

        The k-th identical call of a run is the k-th occurrence of its key, and only the
        first has the key itself (the others: ``_occurrence_mark``). So a run does what an
        earlier run left undone, and nothing less: identical calls are never merged, as a
        task whose result is not a function of its arguments alone (random numbers, side
        effects) needs, and a program's first run with a journal computes what it computes
        without.
        """
        taken = self.journal.program_run.taken  # type: ignore[union-attr]
        key = (function, rest)
        n = taken.get(key)
        if n is None:  # only the first occurrence is taken, if this run took it
            n = 0 if type(known) is Batch and not known.mine else 1
        taken[key] = n + 1
        return n

    def _occurrence_mark(self, function: tuple, rest: bytes, n: int) -> tuple:
        """The mark of the n-th occurrence (n >= 1) of the key (function, rest): in the table
        of the function's later occurrences (its id a digest of the function's), n then rest.
        No hash per call: a digest costs ~1 us, a whole tiny task's admission ~0.2."""
        later = self._later.get(function)
        if later is None:
            fid = hashlib.blake2b(b"netpool-occurrences-1" + function[0],
                                  digest_size=16).digest()
            journal = self.journal
            later = self._later[function] = (journal.table(fid),  # type: ignore[union-attr]
                                              journal.function(fid, function[1]))  # type: ignore
        return (*later, n.to_bytes(8, "little") + rest)

    def resolved(self, task: Any, status: int, payload: bytes, bufs: list) -> None:
        """A task's outcome arrived: journal it."""
        mark = task.journal
        if mark is None:  # no journal, or not journaled: no exception raised
            return
        table, function, rest = mark
        if rest is None:
            rest = task.payload
        journal = self.journal
        # A payload is bytes (``shapes.result_entry``), so the common case is
        # ``Journal.record``'s, inlined: one call less a task.
        if status or bufs or len(payload) > journal.plain_limit:
            return self._resolved_other(task, table, function, rest, status, payload, bufs)
        batch = journal.batch
        table[rest] = batch  # replaces the task: no insertion
        outcomes = batch.outcomes
        outcomes.append((function, rest, status, payload))
        if len(outcomes) >= BATCH_ROWS:  # a payload this small is not counted in bytes
            journal.flush()
            self._committed_in_round()

    def _resolved_other(self, task: Any, table: dict, function: tuple, rest: bytes,
                        status: int, payload: bytes, bufs: list) -> None:
        """``resolved`` for an exception, a payload with buffers or a large one."""
        journal = self.journal
        if status == _RAISED and raised_type(payload) == "KeyboardInterrupt":
            if table.get(rest) is task:  # not an outcome: as ``withdrawn``
                del table[rest]
        else:
            table.pop(rest, None)  # ``record_in`` may keep nothing (too large, broken)
            batch = journal.batch
            journal.record_in(function, rest, status, payload, bufs)
            if journal.batch is not batch:  # it committed
                self._committed_in_round()

    def _committed_in_round(self) -> None:
        """A commit in the middle of a round: the round's sink calls made so far (this
        outcome's included, made before it was recorded) are all on disk now."""
        if self.calls_made is not None:
            self._split = self.calls_made()

    def withdrawn(self, task: Any) -> None:
        """A task ended without an outcome: its key is free again."""
        mark = task.journal
        if mark is None:
            return
        task.journal = None
        table, _, rest = mark
        if rest is None:
            rest = task.payload
        if table.get(rest) is task:
            del table[rest]

    def end_of_round(self, later: list, in_flight: int, final: bool = False) -> list:
        """The sink calls to make now, of this round and of rounds held back; the round's
        outcomes are committed first, so that no result reaches the program before it is on
        disk (a rerun never repeats a task whose result the program saw).

        A commit costs ~35 us of CPU, a tiny task's whole budget. So while more tasks are
        still in flight (``in_flight``: pending or running) than outcomes wait, and unless
        this is the loop's last round (``final``), a round's sink calls are held back, for
        at most ``HOLD_SECONDS`` or until ``HOLD_OUTCOMES`` outcomes wait, and committed
        together with the next rounds'. Never more than half of what is under way is held:
        a lazy ``imap`` reads more input only as its results are taken, so holding most of
        its window back would starve the workers.
        A result with nothing else in flight is committed and delivered at once, so a lone
        task's latency is not hurt. Held calls keep their order: later rounds' calls are
        made after them. When ``HOLD_OUTCOMES`` committed in the middle of the round, the
        calls that commit covered (those held, and the round's made before it) go now, and
        the rest wait for the next commit, their hold starting anew: otherwise they waited
        for the next commit too, and the hold's time ran out sooner, for a smaller commit.
        """
        journal = self.journal
        if journal is None:
            return later
        split, self._split = self._split, 0
        if not (journal.pending or self._held):
            return later
        if self._held:
            if split:
                split += len(self._held)
            self._held += later
            later = self._held
        if not final and 0 < journal.pending < min(HOLD_OUTCOMES, in_flight):
            now = time.monotonic()
            if split:
                self._held, self._held_since = later[split:], now
                return later[:split]
            if self._held_since is None:
                self._held_since = now
            if now < self._held_since + HOLD_SECONDS:
                self._held = later
                return []
        journal.flush()
        self._held, self._held_since = [], None
        return later

    def due(self) -> float:
        """When the loop must wake to commit what it holds (monotonic seconds; inf if nothing)."""
        return inf if self._held_since is None else self._held_since + HOLD_SECONDS

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()

    def _prefix(self, kind: int, blob: int) -> tuple:
        """(hash prefix, mark) of a kind and function; Nones if it is not journaled. The
        mark is that of its tasks with small arguments (see ``__init__``)."""
        try:
            return self._prefixes[(kind, blob)]
        except KeyError:
            function = self._functions.get(blob)
            if function is None or self._environment is None:
                return None, None
            prefix = key_prefix(kind, function, self._environment)
            fid = prefix.copy().digest()
            journal = self.journal
            mark = (journal.table(fid), journal.function(fid, self._names.get(blob, "")),
                    None)
            found = self._prefixes[(kind, blob)] = (prefix, mark)
            return found

    def key(self, t: Any) -> Optional[bytes]:
        """A task's key as the journal's file holds it, or None if it is not journaled; a
        task not admitted yet is taken as its key's first occurrence."""
        mark = t.journal or self._mark(t)
        if mark is None:
            return None
        return mark[1][0] + (t.payload if mark[2] is None else mark[2])

    def _mark(self, t: Any) -> Optional[tuple]:
        """The mark of a task (see ``__init__``), or None if it is not journaled."""
        kind = t.kind
        prefix, mark = self._prefix(kind, t.blob)
        if prefix is None:
            return None
        payload = t.payload
        name = mark[1][1]
        if kind == _CONTEXT:
            ident = t.ident
            name = getattr(ident, "__qualname__", None) or type(ident).__qualname__
            if ident is not None:
                payload = fingerprint(ident)
                if payload is None:
                    return None
        elif not t.bufs and len(payload) <= self._raw:
            return mark
        journal = self.journal
        return (journal.table(DIGEST), journal.function(DIGEST, name),  # type: ignore
                task_key(prefix, payload, t.bufs))
