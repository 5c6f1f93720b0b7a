"""The journal: finished tasks' outcomes on disk, so that a rerun does only what is left.

Storage is one SQLite file (the standard library's ``sqlite3``) in WAL mode with
``synchronous=NORMAL``. That is what makes it crash-safe without code of our own: a
transaction is in the file once ``COMMIT`` returns, a process killed at any moment (even in
the middle of a commit) leaves the last committed state, and a torn write at the end of the
WAL is discarded by SQLite when the file is next opened. An append-only file of checksummed
records would need the same torn-tail recovery written by hand, plus an index to find a
task without reading the whole file. WAL keeps readers (``netpool journal PATH``) working
while a run writes. ``NORMAL`` rather than ``FULL``: commits do not wait for ``fsync``, so a
power cut may lose the last commits (those tasks simply run again) but never corrupts.

Writes are group commits: ``record`` keeps an outcome in memory, ``flush`` commits all that
were kept in one transaction (and 256 outcomes or 16 MiB commit at once). When to flush is
the runtime's choice (``journaled.py``): always before the results reach the program, so
that a rerun never repeats a task whose result the program saw.

Every batch carries a CRC-32 of its bytes, checked when it is read: SQLite does not
checksum its pages, and a corrupted result must run again rather than be returned (the
format and why: ``journalformat.py``).

Rules of this file: it never unpickles anything (outcomes stay as the worker's bytes);
every method is called under the runtime's lock (the connection is shared between the
caller's thread that opened it and the loop thread).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import sys
import time
import zlib
from typing import Any, Optional

from ..errors import JournalError
from . import forks
from . import journalformat as F
from .journalformat import APPLICATION_ID, FORMAT

log = logging.getLogger("netpool")

MAX_RESULT = 64 << 20           # outcomes larger than this are not kept: the task reruns
BATCH_ROWS = 256                # outcomes kept in memory at most: more commit at once
BATCH_BYTES = 16 << 20          # ... and bytes of records larger than SMALL
SMALL = 64 << 10                # a record this small is not counted in bytes: BATCH_ROWS of
                                # them are at most BATCH_BYTES (one sum less per tiny task)

# One batch is one row (journalformat.py): a row per outcome would cost an index insertion
# per task (10-30 us here, a third of a tiny task); a row per batch costs one per 256 tasks.

Outcome = tuple  # (status, payload bytes, [buffers]), as a worker's RESULTS entry


class Batch:
    """One commit's outcomes. Every key of this run and of the file points to its batch in
    ``Journal.table``, so a commit marks all its keys at once (``id`` set): no call per key,
    no insertion into the large table at commit time (the key was put there when its task
    was admitted, journaled.py)."""

    __slots__ = ("id", "outcomes")

    def __init__(self, bid: Optional[int] = None) -> None:
        self.id = bid           # the row's id once committed; None while pending
        # (key, status, record, function name) in the order recorded, while pending; the
        # status has ``F.FRAMED`` set if the record is framed (it has buffers)
        self.outcomes: Optional[list] = [] if bid is None else None


class Journal:
    """One open journal file. ``Journal(path)`` validates it and registers this run.

    Raises ``JournalError`` when the file is not a netpool journal (another program's file,
    another SQLite database), is of a newer format, is corrupted, or cannot be written.
    With ``readonly`` it only reads (``netpool journal PATH``); without ``register`` it is
    checked (and created if missing) but no run is recorded in it.
    """

    def __init__(self, path: str, *, readonly: bool = False, max_result: int = MAX_RESULT,
                 register: bool = True) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.max_result = max_result
        self.too_large = 0          # outcomes not kept because of max_result, this run
        self.broken = False         # a write failed: nothing more is written, tasks just run
        # The largest payload of a task without buffers that ``record``'s common case takes
        # (journaled.py inlines it, uncounted in ``pending_bytes``): none once broken.
        self.plain_limit = min(max_result, SMALL)
        # This run's one table of keys: key -> its outcome's ``Batch`` (committed, or the
        # pending one), or the task id of the leader running it (set by journaled.py, which
        # reads and writes this table directly: a few dict operations per task in all).
        self.table: dict[bytes, Any] = {}
        self._clear_pending()
        self._read: tuple = (0, {}, b"")  # the last batch read: id, key -> entry, data
        self._db = self._connect(readonly)
        # The commits' own cursor: ``Connection.execute`` makes one a call, ~15 us of a cold
        # commit's ~115 (caches are cold between a busy loop's commits; docs/journal.md).
        self._writer = self._db.cursor()
        try:
            self.format = self._validate(readonly)
            for bid, idx, counts in self._db.execute(f"SELECT id, idx, {self._counts} "
                                                     "FROM batches ORDER BY id"):
                self.table.update(dict.fromkeys(F.keys(idx, counts), Batch(bid)))
            self.run = self._start_run() if register and not readonly else None
            forks.own(self)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise self._error(exc) from None
        except BaseException:
            self._db.close()
            raise

    # -- opening -----------------------------------------------------------------------
    def _connect(self, readonly: bool) -> sqlite3.Connection:
        if os.path.isdir(self.path):
            raise JournalError(f"the journal {self.path} is a directory; give a file name")
        if not readonly:
            self._check_writable()
        elif not os.path.exists(self.path):
            raise JournalError(f"there is no journal at {self.path}")
        uri = "file:" + self.path.replace("?", "%3f").replace("#", "%23") + (
            "?mode=ro" if readonly else "")
        try:
            # Autocommit mode: transactions are begun explicitly, one per batch.
            db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None,
                                 check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return db

    def _check_writable(self) -> None:
        folder = os.path.dirname(self.path)
        # SQLite writes -wal and -shm files beside the journal: the folder must be writable.
        for what, where in (("the folder", folder), ("the file", self.path)):
            if os.path.exists(where) and not os.access(where, os.W_OK):
                raise JournalError(
                    f"cannot write the journal {self.path}: no write permission on {what} "
                    f"{where}; choose another journal path or change the permissions")
        if not os.path.isdir(folder):
            raise JournalError(f"cannot create the journal {self.path}: {folder} is not a folder")

    @property
    def _counts(self) -> str:
        """The column of a batch's counts (none in a file of format 1)."""
        return "counts" if self.format >= 2 else "NULL"

    def _validate(self, readonly: bool) -> int:
        """Checks the file, creates or upgrades it; returns its format."""
        db = self._db
        app = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app == 0 and version == 0 and not tables:
            if readonly:
                raise JournalError(f"{self.path} is an empty file, not a netpool journal yet")
            self._create()
            return FORMAT
        if app != APPLICATION_ID:
            raise JournalError(
                f"{self.path} is not a netpool journal (an SQLite database of another "
                "program): it is left untouched; choose another journal path")
        if version > FORMAT:
            raise JournalError(
                f"the journal {self.path} was written by a newer netpool (journal format "
                f"{version}; this one reads format {FORMAT}): use that netpool, or start "
                "afresh with another journal path")
        if version < 1 or not {"runs", "batches", "names"} <= tables:
            raise JournalError(f"the journal {self.path} is corrupted (format {version}, "
                               f"tables {sorted(tables)}); remove it to start afresh")
        check = db.execute("PRAGMA quick_check").fetchall()
        if check != [("ok",)]:
            raise JournalError(f"the journal {self.path} is corrupted ({check[0][0]}); "
                               "remove it (and its -wal and -shm files) to start afresh")
        if not readonly:
            self._set_wal()
            if version < FORMAT:
                self._upgrade()
                return FORMAT
        return version

    def _upgrade(self) -> None:
        """Format 1 to 2 in place, in one transaction: its rows stay, read as they are."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] == 1:  # nobody raced us
                for stmt in F.UPGRADE_FROM_1:
                    db.execute(stmt)
                db.execute(f"PRAGMA user_version = {FORMAT}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _create(self) -> None:
        self._set_wal()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA application_id").fetchone()[0] == 0:  # nobody raced us
                for stmt in filter(str.strip, F.SCHEMA.split(";")):
                    db.execute(stmt)
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute(f"PRAGMA user_version = {FORMAT}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _set_wal(self) -> None:
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise JournalError(f"the journal {self.path} cannot use SQLite's WAL mode "
                               f"(got {mode!r}): put it on a local file system")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def _start_run(self) -> int:
        argv = " ".join(sys.argv)
        program = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else "?"
        cur = self._db.execute(
            "INSERT INTO runs(program, argv, host, pid, started) VALUES (?, ?, ?, ?, ?)",
            (program, argv, socket.gethostname(), os.getpid(), time.time()))
        return int(cur.lastrowid)

    def _error(self, exc: sqlite3.Error) -> JournalError:
        text = str(exc)
        if "not a database" in text:
            return JournalError(f"{self.path} is not a netpool journal (not an SQLite file; "
                                "another program's file?): it is left untouched; choose "
                                "another journal path")
        if "readonly" in text or "unable to open" in text:
            return JournalError(f"cannot write the journal {self.path}: {text}; choose "
                                "another journal path or change the permissions")
        if "malformed" in text or "corrupt" in text:
            return JournalError(f"the journal {self.path} is corrupted ({text}); remove it "
                                "(and its -wal and -shm files) to start afresh")
        return JournalError(f"the journal {self.path} cannot be used: {text}")

    # -- the runtime's side --------------------------------------------------------------
    def __contains__(self, key: bytes) -> bool:
        return type(self.table.get(key)) is Batch

    def __len__(self) -> int:
        return sum(1 for v in self.table.values() if type(v) is Batch)

    @property
    def committed(self) -> dict[bytes, int]:
        """key -> batch id of every committed outcome (built on each call; not for a loop)."""
        return {k: v.id for k, v in self.table.items() if type(v) is Batch and v.id is not None}

    def lookup(self, key: bytes) -> Optional[Outcome]:
        """The recorded outcome of the task ``key``, or None (not recorded, or damaged)."""
        batch = self.table.get(key)
        if type(batch) is not Batch:
            return None
        if batch.id is None:  # pending; the last entry for a key wins
            for k, status, record, _ in reversed(batch.outcomes):
                if k == key:
                    break
            else:  # not reached: a key points to the pending batch only once recorded in it
                return None
            if status & F.FRAMED:
                return (status & ~F.FRAMED, *F.decode(record))
            return (status, record, [])
        bid = batch.id
        if self._read[0] != bid:  # results come back in the order they were recorded
            try:
                idx, data, counts, crc = self._db.execute(
                    f"SELECT idx, data, {self._counts}, "
                    f"{'crc' if self.format >= 2 else 'NULL'} FROM batches WHERE id = ?",
                    (bid,)).fetchone()
            except sqlite3.DatabaseError as exc:  # damaged since it was opened and checked
                log.warning("netpool: the journal %s cannot be read (%s); that task runs "
                            "again", self.path, exc)
                del self.table[key]
                return None
            entries = F.entries(idx, data, counts, crc)
            if entries is None:
                return self._forget(batch, "holds a damaged batch; its tasks run again")
            self._read = bid, entries, data
        status, start, end, framed, crc = self._read[1][key]
        record = self._read[2][start:end]
        if crc is not None and zlib.crc32(record) != crc:  # a record of format 1
            log.warning("netpool: the journal %s holds a damaged record; that task runs again",
                        self.path)
            del self.table[key]
            return None
        return (status, *F.decode(record)) if framed else (status, record, [])

    def _forget(self, batch: Batch, why: str = "") -> None:
        """Every key of ``batch`` unknown again (its tasks run again)."""
        if why:
            log.warning("netpool: the journal %s %s", self.path, why)
        table = self.table
        for k in [k for k, b in table.items() if b is batch]:
            del table[k]
        return None

    def record(self, key: bytes, status: int, payload: bytes, bufs: list, name: str) -> None:
        """Keep a task's outcome (written with the next batch)."""
        if bufs or len(payload) > self.max_result or self.broken:
            return self._record_other(key, status, payload, bufs, name)
        # A tiny task's path (journaled.py inlines it): a dict entry, an append and a sum;
        # the batch's row is built from the outcomes once per commit (``flush``).
        if type(payload) is not bytes:
            payload = bytes(payload)  # the worker's buffer may be reused
        self._keep(key, status, payload, name)

    def _keep(self, key: bytes, status: int, record: bytes, name: str) -> None:
        batch = self.batch
        self.table[key] = batch
        batch.outcomes.append((key, status, record, name))  # type: ignore[union-attr]
        if len(record) > SMALL:
            self.pending_bytes += len(record)
        if len(batch.outcomes) >= BATCH_ROWS or self.pending_bytes >= BATCH_BYTES:
            self.flush()

    def _record_other(self, key: bytes, status: int, payload: bytes, bufs: list,
                      name: str) -> None:
        if self.broken:
            return
        size = len(payload) + sum(memoryview(b).nbytes for b in bufs)
        if size > self.max_result:
            if not self.too_large:
                log.warning("netpool: a %s result of %d bytes is larger than the journal's "
                            "limit (%d bytes): tasks like it are not journaled and rerun",
                            name, size, self.max_result)
            self.too_large += 1
            return
        self._keep(key, status | F.FRAMED, F.encode(payload, bufs), name)

    @property
    def pending(self) -> int:
        """Outcomes recorded and not yet committed."""
        return len(self.batch.outcomes)  # type: ignore[arg-type]

    def flush(self) -> None:
        """Commit what is pending, in one transaction. A failure is logged, never raised."""
        batch = self.batch
        if not batch.outcomes or self.broken:
            return
        try:
            idx, data, counts, crc = F.pack(batch.outcomes)
            # One statement, so its own transaction (autocommit mode): no BEGIN, no COMMIT.
            bid = self._writer.execute(  # a cursor's execute returns the cursor
                "INSERT INTO batches(run, at, idx, data, counts, crc) VALUES (?,?,?,?,?,?)",
                (self.run, time.time(), idx, data, counts, crc)).lastrowid
        except sqlite3.Error as exc:
            # Results are still delivered; only the journal stops: those tasks will rerun.
            self.broken = True
            self.plain_limit = -1
            log.error("netpool: writing the journal %s failed (%s); the run goes on "
                      "without journaling", self.path, exc)
            self._forget(batch)
        else:
            batch.id = bid  # every key of the batch is committed now
        batch.outcomes = None
        self._clear_pending()

    def _clear_pending(self) -> None:
        self.batch = Batch()        # the outcomes recorded and not yet committed
        self.pending_bytes = 0      # bytes of their records larger than SMALL

    def _disown(self) -> None:
        """In a forked child: never touch the parent's connection, not even to close it.

        SQLite forbids using a connection across fork; closing it may checkpoint and delete
        the WAL the parent is writing. It is kept referenced, so it is never closed (forked
        children normally end with ``os._exit``).
        """
        _abandoned.append((self._db, self._writer))
        self._db = self._writer = None  # type: ignore[assignment]

    def close(self) -> None:
        """Flush, note the run's end, close the file. Safe to call twice."""
        if self._db is None:
            return
        forks.release(self)
        self.flush()
        if self.run is not None and not self.broken:
            try:
                self._db.execute("UPDATE runs SET ended = ? WHERE id = ?", (time.time(), self.run))
            except sqlite3.Error:
                pass
        self._writer.close()
        self._db.close()
        self._db = self._writer = None  # type: ignore[assignment]

    # -- reading it whole (netpool journal PATH) ------------------------------------------
    def summary(self) -> dict:
        """What the journal holds: counts, sizes, the runs and the functions."""
        done, failed, nbytes, runs, names = F.summarize(self._db, self._counts)
        on_disk = sum(os.path.getsize(self.path + s) for s in ("", "-wal")
                      if os.path.exists(self.path + s))
        return dict(path=self.path, format=self.format, done=done, failed=failed,
                    result_bytes=nbytes, file_bytes=on_disk, runs=runs, names=names)


_abandoned: list = []  # connections inherited by a forked child, never to be closed
