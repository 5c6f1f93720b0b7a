"""The journal: finished tasks' outcomes on disk, so that a rerun does only what is left.

Storage is one file of checksummed frames, appended (the format, and why not SQLite:
``journalformat.py``). That is what makes it crash-safe: a commit is one write of one
frame; a process killed at any moment (even in the middle of that write) leaves the frames
written before whole, and a torn last frame is ignored when the file is next read. Commits
do not wait for ``fsync`` (the file is synced when the journal closes), so a power cut may
lose the last commits (those tasks simply run again) but never returns a wrong result: every
frame's CRC-32 is checked before its outcomes are used.

Writes are group commits: ``record`` keeps an outcome in memory, ``flush`` writes all that
were kept as one frame (and 256 outcomes or 16 MiB commit at once). When to flush is the
runtime's choice (``journaled.py``): always before the results reach the program, so that a
rerun never repeats a task whose result the program saw.

Rules of this file: it never unpickles anything (outcomes stay as the worker's bytes);
every method is called under the runtime's lock (the file is shared between the caller's
thread that opened it and the loop thread).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
import zlib
from itertools import groupby, repeat
from operator import itemgetter
from typing import Any, Optional

from ..errors import JournalError  # noqa: F401  (raised through journalopen.py)
from . import forks
from . import journalformat as F
from . import journalopen
from .journalformat import FORMAT  # noqa: F401  (the format this netpool writes)

log = logging.getLogger("netpool")

MAX_RESULT = 64 << 20           # outcomes larger than this are not kept: the task reruns
BATCH_ROWS = 256                # outcomes kept in memory at most: more commit at once
BATCH_BYTES = 16 << 20          # ... and bytes of records larger than SMALL
SMALL = 1 << 10                 # a record this small is not counted in bytes (one sum less
                                # per tiny task): a commit of only such records is written
                                # in one call (journalformat.py, SHARED_BATCH)

Outcome = tuple  # (status, payload bytes, [buffers]), as a worker's RESULTS entry
_FUNCTION, _REST = itemgetter(0), itemgetter(1)  # of a pending or SHARED_BATCH outcome


class Batch:
    """One commit's outcomes. Every key of this run and of the file points to its batch in
    ``Journal.tables``, so a commit marks all its keys at once (``id`` set): no call per key,
    no insertion into a large table at commit time (the key was put there when its task
    was admitted, journaled.py)."""

    __slots__ = ("id", "outcomes", "mine")

    def __init__(self, at: Optional[int] = None, mine: bool = True) -> None:
        self.id = at            # the frame's offset in the file once written; None while pending
        # (function, rest of the key, status, record) in the order recorded, while pending,
        # ``function`` being the shared ``(function id, name)`` (``Journal.function``); the
        # status has ``F.FRAMED`` set if the record is framed (it has buffers)
        self.outcomes: Optional[list] = [] if at is None else None
        self.mine = mine        # written by this process (``ProgramRun``), not an earlier run


class ProgramRun:
    """What the journals of one file opened in one process share: they are one run of the
    program (``netpool run --journal`` gives every pool of a script the same file), whose
    k-th identical call is the k-th occurrence of its key (journaled.py).

    ``tokens``: the run tokens of this process's journals of the file, so that a journal
    opened after another one closed tells this run's batches from earlier runs'. ``taken``:
    for a key met more than once in this run, how many of its occurrences are taken. Two
    pools at once count under their own locks: they may take one occurrence twice, and a
    rerun then runs one of the two again; it never returns another call's result.
    """

    __slots__ = ("tokens", "taken")

    def __init__(self) -> None:
        self.tokens: set[bytes] = set()
        self.taken: dict[tuple, int] = {}


# One per journal file (device, inode) in this process; a forked child inherits a copy.
_program_runs: dict[tuple, ProgramRun] = {}


class Journal:
    """One open journal file. ``Journal(path)`` validates it and registers this run.

    Raises ``JournalError`` when the file is not a netpool journal (another program's file),
    is of a newer format, has a damaged header, or cannot be written. With ``readonly`` it
    only reads (``netpool journal PATH``); without ``register`` it is checked (and created
    if missing) but no run is recorded in it.
    """

    def __init__(self, path: "str | os.PathLike", *, readonly: bool = False,
                 max_result: int = MAX_RESULT, register: bool = True) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.max_result = max_result
        self.too_large = 0          # outcomes not kept because of max_result, this run
        self.broken = False         # a write failed: nothing more is written, tasks just run
        # The largest payload of a task without buffers that ``record``'s common case takes
        # (journaled.py inlines it, uncounted in ``pending_bytes``): none once broken.
        self.plain_limit = min(max_result, SMALL)
        # This run's tables of keys, one per function id (``F.DIGEST`` for the keys that
        # are digests): the rest of a key -> its outcome's ``Batch`` (written, or the
        # pending one), or the task running it (set by journaled.py, which reads and
        # writes these tables directly: a few dict operations per task in all). Split so
        # that a tiny task's key is its arguments' bytes: no key to build, no bytes joined.
        self.tables: dict[bytes, dict[bytes, Any]] = {}
        self._functions: dict[tuple, tuple] = {}  # (function id, name) -> itself, shared
        self._clear_pending()
        self._read: tuple = (None, {}, b"")  # the last batch read: offset, key -> entry, body
        self.token = os.urandom(8)  # this run's name in its frames
        self._fd = journalopen.open_file(self.path, readonly)
        try:
            self.format, self.digests = journalopen.validate(self._fd, self.path, readonly)
            self._load()
            if register and not readonly:
                self.program_run.tokens.add(self.token)
            self.run = self._start_run() if register and not readonly else None
        except BaseException:
            os.close(self._fd)
            raise
        forks.own(self)

    # -- its frames (the file and its header were opened by journalopen.py) -------------
    def _load(self) -> None:
        """Every key of the file into the tables, reading each batch's index, not its records."""
        damaged: list = []
        st = os.fstat(self._fd)
        size, where = st.st_size, (st.st_dev, st.st_ino)
        self.program_run = _program_runs.setdefault(where, ProgramRun())
        ours, seen = self.program_run.tokens, False
        with open(self._fd, "rb", buffering=1 << 16, closefd=False) as f:
            for at, kind, length, crc in F.frames(f, F.HEADER.size, size, damaged):
                if kind in (F.SHARED_BATCH, F.SMALL_BATCH):  # read whole, and checked now
                    body = f.read(length - 1)
                    try:
                        if zlib.crc32(body, zlib.crc32(bytes((kind,)))) != crc:
                            raise ValueError("CRC")
                        outcomes = F.small_outcomes(body, kind)
                    except ValueError:
                        damaged.append(at)
                        continue
                    batch = Batch(at, body[:8] in ours)
                    seen = seen or batch.mine
                    for function, group in groupby(outcomes, _FUNCTION):
                        self.table(function[0]).update(zip(map(_REST, group), repeat(batch)))
                    continue
                if kind == F.RUN and ours and not seen:
                    seen = F.run_token(f.read(length - 1)) in ours
                    continue
                if kind != F.BATCH or length < 1 + F.BHEAD.size:
                    continue
                head = f.read(F.BHEAD.size)
                try:
                    more = F.Index.keys_end(head) - F.BHEAD.size
                    if more > length:
                        raise ValueError("an index longer than its frame")
                    keys = F.Index.parse(head + f.read(more), full=False).keys
                except (ValueError, OverflowError):
                    damaged.append(at)
                    continue
                batch = Batch(at, head[:8] in ours)
                seen = seen or batch.mine
                for key in keys:
                    function, rest = F.split(key)
                    self.table(function)[rest] = batch
        if ours and not seen:  # another file at the same place: this process never wrote it
            self.program_run = _program_runs[where] = ProgramRun()
        if damaged:
            log.warning("netpool: the journal %s has damaged parts (at offsets %s); the tasks "
                        "they held run again", self.path, damaged[:5])

    def _start_run(self) -> bytes:
        self._write(F.json_frame(F.RUN, dict(
            run=self.token.hex(), program=os.path.abspath(sys.argv[0]) if sys.argv and
            sys.argv[0] else "?", argv=" ".join(sys.argv), host=socket.gethostname(),
            pid=os.getpid(), started=time.time())))
        return self.token

    def _write(self, bufs: list) -> int:
        """Appends one frame in one write; returns its offset. Raises ``OSError``."""
        total = sum(map(len, bufs))
        done = os.writev(self._fd, bufs)
        if done < total:  # a short write (a full disk): the rest, or the error
            rest = b"".join(bufs)[done:]
            while rest:
                rest = rest[os.write(self._fd, rest):]
        return os.lseek(self._fd, 0, os.SEEK_CUR) - total

    # -- the runtime's side --------------------------------------------------------------
    def table(self, function: bytes) -> dict[bytes, Any]:
        """The table of the keys of a function id (made on first use)."""
        table = self.tables.get(function)
        if table is None:
            table = self.tables[function] = {}
        return table

    def function(self, function: bytes, name: str) -> tuple:
        """``(function id, name)``, one tuple for all the outcomes of a function."""
        return self._functions.setdefault((function, name), (function, name))

    def __contains__(self, key: bytes) -> bool:
        function, rest = F.split(key)
        return type(self.tables.get(function, {}).get(rest)) is Batch

    def __len__(self) -> int:
        return sum(1 for t in self.tables.values() for v in t.values() if type(v) is Batch)

    @property
    def committed(self) -> dict[bytes, int]:
        """key -> offset of the batch of every written outcome (built on each call)."""
        return {f + k: v.id for f, t in self.tables.items() for k, v in t.items()
                if type(v) is Batch and v.id is not None}

    def lookup(self, key: bytes) -> Optional[Outcome]:
        """The recorded outcome of the task ``key``, or None (not recorded, or damaged)."""
        return self.outcome(*F.split(key))

    def outcome(self, function: bytes, rest: bytes) -> Optional[Outcome]:
        """``lookup`` with the key split (journaled.py holds it so)."""
        batch = self.tables.get(function, {}).get(rest)
        if type(batch) is not Batch:
            return None
        if batch.id is None:  # pending; the last entry for a key wins
            for (f, _), r, status, record in reversed(batch.outcomes):
                if r == rest and f == function:
                    break
            else:  # not reached: a key points to the pending batch only once recorded in it
                return None
        else:
            at = batch.id
            if self._read[0] != at:  # results come back in the order they were recorded
                read = self._read_batch(at)
                if read is None:
                    return self._forget(batch, f"holds a damaged batch (at offset {at}); its "
                                               "tasks run again")
                self._read = (at, *read)
            status, record = self._read[1][function + rest]
            record = bytes(record)
        if status & F.FRAMED:
            return (status & ~F.FRAMED, *F.decode(record))
        return (status, record, [])

    def _read_batch(self, at: int) -> Optional[tuple]:
        """(key -> entry, body) of the batch frame at ``at``, or None if it is damaged."""
        try:
            magic, length, crc = F.FRAME.unpack(os.pread(self._fd, F.FRAME.size, at))
            body = os.pread(self._fd, length, at + F.FRAME.size)
            if magic != F.FRAME_MAGIC or len(body) != length or zlib.crc32(body) != crc:
                return None
            view = memoryview(body)[1:]
            if body[0] in (F.SHARED_BATCH, F.SMALL_BATCH):
                outcomes = F.keyed(F.small_outcomes(view, body[0]))
                return {key: (st, rec) for key, st, rec, _ in outcomes}, view
            return F.Index.parse(view).entries(view), view
        except (OSError, ValueError, OverflowError, KeyError) as exc:
            log.debug("netpool: journal batch at %d unreadable: %s", at, exc)
            return None

    def _forget(self, batch: Batch, why: str = "") -> None:
        """Every key of ``batch`` unknown again (its tasks run again)."""
        if why:
            log.warning("netpool: the journal %s %s", self.path, why)
        for table in self.tables.values():
            for k in [k for k, b in table.items() if b is batch]:
                del table[k]
        return None

    def record(self, key: bytes, status: int, payload: bytes, bufs: list, name: str) -> None:
        """Keep a task's outcome (written with the next batch)."""
        function, rest = F.split(key)
        self.record_in(self.function(function, name), rest, status, payload, bufs)

    def record_in(self, function: tuple, rest: bytes, status: int, payload: bytes,
                  bufs: list) -> None:
        """``record`` with the key split: ``function`` from ``self.function``."""
        if bufs or len(payload) > self.max_result or self.broken:
            return self._record_other(function, rest, status, payload, bufs)
        # A tiny task's path (journaled.py inlines it): a dict entry, an append and a sum;
        # the batch's frame is built from the outcomes once per commit (``flush``).
        if type(payload) is not bytes:
            payload = bytes(payload)  # the worker's buffer may be reused
        self._keep(function, rest, status, payload)

    def _keep(self, function: tuple, rest: bytes, status: int, record: bytes) -> None:
        batch = self.batch
        self.table(function[0])[rest] = batch
        batch.outcomes.append((function, rest, status, record))  # type: ignore[union-attr]
        if len(record) > SMALL:
            self.pending_bytes += len(record)
        if len(batch.outcomes) >= BATCH_ROWS or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def _record_other(self, function: tuple, rest: bytes, status: int, payload: bytes,
                      bufs: list) -> None:
        if self.broken:
            return
        size = len(payload) + sum(memoryview(b).nbytes for b in bufs)
        if size > self.max_result:
            if not self.too_large:
                log.warning("netpool: a %s result of %d bytes is larger than the journal's "
                            "limit (%d bytes): tasks like it are not journaled and rerun",
                            function[1], size, self.max_result)
            self.too_large += 1
            return
        self._keep(function, rest, status | F.FRAMED, F.encode(payload, bufs))

    @property
    def pending(self) -> int:
        """Outcomes recorded and not yet committed."""
        return len(self.batch.outcomes)  # type: ignore[arg-type]

    def flush(self) -> None:
        """Commit what is pending, as one frame. A failure is logged, never raised."""
        batch = self.batch
        if not batch.outcomes or self.broken:
            return
        try:
            if self.pending_bytes:  # records of more than SMALL: indexed, read apart
                frame = F.batch(self.token, time.time(), F.keyed(batch.outcomes), join=False)
            else:
                frame = F.small_batch(self.token, time.time(), batch.outcomes)
            at = self._write(frame)
        except OSError as exc:
            # Results are still delivered; only the journal stops: those tasks will rerun.
            self.broken = True
            self.plain_limit = -1
            log.error("netpool: writing the journal %s failed (%s); the run goes on "
                      "without journaling", self.path, exc)
            self._forget(batch)
        else:
            batch.id = at  # every key of the batch is committed now
        batch.outcomes = None
        self._clear_pending()

    def _clear_pending(self) -> None:
        self.batch = Batch()        # the outcomes recorded and not yet committed
        self.pending_bytes = 0      # bytes of their records larger than SMALL

    def _disown(self) -> None:
        """In a forked child: close its copy of the file, never writing to it."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def close(self) -> None:
        """Flush, note the run's end, sync and close the file. Safe to call twice."""
        if self._fd is None:
            return
        forks.release(self)
        self.flush()
        try:
            if self.run is not None and not self.broken:
                self._write(F.json_frame(F.END, dict(run=self.run.hex(), ended=time.time())))
                os.fsync(self._fd)
        except OSError as exc:
            log.warning("netpool: closing the journal %s: %s", self.path, exc)
        os.close(self._fd)
        self._fd = None  # type: ignore[assignment]

    # -- reading it whole (netpool journal PATH) ------------------------------------------
    def summary(self) -> dict:
        """What the journal holds: counts, sizes, the runs and the functions."""
        size = os.fstat(self._fd).st_size
        with open(self._fd, "rb", buffering=1 << 16, closefd=False) as f:
            status, nbytes, damaged, runs, names = F.summarize(f, size)
        failed = sum(1 for st in status.values() if st != 0)
        by_name = sorted(((n, d, f) for n, (d, f) in names.items()),
                         key=lambda t: -(t[1] + t[2]))
        return dict(path=self.path, format=self.format, done=len(status) - failed,
                    failed=failed, result_bytes=nbytes, file_bytes=size, damaged=len(damaged),
                    runs=[(i, *r) for i, r in enumerate(runs.values(), 1)], names=by_name)


