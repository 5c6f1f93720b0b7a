"""Journals of formats 1 and 2 (SQLite databases, netpool before 2026-12-07), converted.

A run given such a journal converts it once, in place, to the current format
(``journalformat.py``), so that the work it holds is not lost: every batch whose checksum
matches is copied with its keys (all digests then, so the new file says ``DIGESTS`` and
keeps keying its tasks that way), every run with its program, host and times. The copy is
written beside the journal, synced, and renamed over it; SQLite's ``-wal`` and ``-shm``
files are removed. A run of an older netpool still writing that journal at that moment
would lose what it writes afterwards: convert between runs. ``sqlite3`` is imported only
here, only then.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from typing import Iterator

from ..errors import JournalError
from . import journalformat as F

SQLITE_MAGIC = b"SQLite format 3\x00"
APPLICATION_ID = 0x6E706A6C     # "npjl", in PRAGMA application_id of formats 1 and 2
ENTRY_1 = struct.Struct("<16sBIQQ")  # format 1: key, status, crc32 of the record, offset, length
PER_2 = 16 + 1 + 8                   # bytes of a format-2 batch's index per outcome

log = logging.getLogger("netpool")


def convert_if_older(path: str, readonly: bool) -> None:
    """If ``path`` is a journal of an older netpool (an SQLite file), convert it (a reader
    never does: ``JournalError``). Raises ``JournalError`` if it cannot be."""
    try:
        with open(path, "rb") as f:
            if f.read(16) != SQLITE_MAGIC:
                return
    except OSError:  # missing, or unreadable: opening it says which
        return
    if readonly:
        raise JournalError(
            f"{path} is an SQLite database: another program's, or a journal of an older "
            "netpool (formats 1 and 2), which a run with this netpool converts "
            "(netpool run --journal PATH, or journal=PATH)")
    if not os.access(path, os.W_OK) or not os.access(os.path.dirname(path), os.W_OK):
        raise JournalError(f"cannot write the journal {path}: no write permission (it is "
                           "of an older format, to be converted)")
    convert(path)
    log.warning("netpool: the journal %s, of an older netpool, was converted to format "
                "%d; the work it held is kept", path, F.FORMAT)


def convert(path: str) -> None:
    """Rewrite the SQLite journal at ``path`` in the current format. Raises
    ``JournalError`` if it is another program's database or cannot be read."""
    import sqlite3
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise JournalError(f"the journal {path} cannot be read: {exc}") from None
    tmp = path + ".netpool-convert"
    try:
        if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            raise JournalError(f"{path} is not a netpool journal (an SQLite database of "
                               "another program): it is left untouched; choose another "
                               "journal path")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        try:
            os.write(fd, F.header(F.DIGESTS))
            for parts in _frames(db):
                os.write(fd, b"".join(parts))
            os.fsync(fd)
        finally:
            os.close(fd)
    except sqlite3.DatabaseError as exc:
        _remove(tmp)
        raise JournalError(f"the journal {path} (format 1 or 2) is corrupted ({exc}); "
                           "remove it (and its -wal and -shm files) to start afresh") from None
    except BaseException:
        _remove(tmp)
        raise
    finally:
        db.close()
    os.replace(tmp, path)
    for suffix in ("-wal", "-shm"):
        _remove(path + suffix)


def _frames(db) -> Iterator[list]:
    cols = {row[1] for row in db.execute("PRAGMA table_info(batches)")}
    counts_col = "counts" if "counts" in cols else "NULL"
    crc_col = "crc" if "crc" in cols else "NULL"
    tokens = {}
    for rid, program, argv, host, pid, started, ended in db.execute(
            "SELECT id, program, argv, host, pid, started, ended FROM runs ORDER BY id"):
        token = tokens[rid] = rid.to_bytes(8, "little")
        yield F.json_frame(F.RUN, dict(run=token.hex(), program=program, argv=argv,
                                       host=host, pid=pid, started=started))
        if ended is not None:
            yield F.json_frame(F.END, dict(run=token.hex(), ended=ended))
    names_1 = {}  # format 1's function names, by batch (a format-2 batch has its own)
    for batch, name in db.execute("SELECT batch, name FROM names"):
        names_1.setdefault(batch, name)
    for bid, run, at, idx, data, counts, crc in db.execute(
            f"SELECT id, run, at, idx, data, {counts_col}, {crc_col} FROM batches ORDER BY id"):
        outcomes = _outcomes(idx, data, counts, crc, names_1.get(bid, ""))
        if outcomes:
            yield F.batch(tokens.get(run, bytes(8)), at or 0.0, outcomes, join=False)


def _outcomes(idx: bytes, data: bytes, counts, crc, name_1: str) -> list:
    """(key, status, record, name) of a batch row whose checksums match (else none)."""
    if counts is None:  # format 1: every record framed, each with its own CRC
        out = []
        for key, st, rcrc, off, length in ENTRY_1.iter_unpack(idx):
            record = data[off:off + length]
            if zlib.crc32(record) == rcrc:
                out.append((key, st | F.FRAMED, record, name_1))
        return out
    n, rest = divmod(len(idx), PER_2)
    if rest or zlib.crc32(data, zlib.crc32(idx)) != crc:
        return []
    named = json.loads(counts)
    name = named[0][0] if len(named) == 1 else ""
    ends = struct.unpack_from(f"<{n}Q", idx, 17 * n)
    out, start = [], 0
    for i in range(n):
        out.append((idx[16 * i:16 * i + 16], idx[16 * n + i], data[start:ends[i]], name))
        start = ends[i]
    return out


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
