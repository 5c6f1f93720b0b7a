"""The journal's file format: its tables, and a batch row's layout, in versions 1 and 2.

A batch is one row of ``batches``, one per commit. Version 2 (this code writes it) puts
everything a commit writes in that row, so that a commit is one ``INSERT`` (its own
transaction, in autocommit mode); version 1 also wrote a row per function into ``names``,
and checksummed each record. Rows of both versions live in one table, told apart by
``counts`` (NULL in a version-1 row): a version-1 file opened for writing is upgraded in
place (two columns added, ``user_version`` set), and its old rows are read as they are.

Version 2's row: ``idx`` is the keys (16 bytes each), then a status byte each, then the
end offset of each record in ``data`` (u64, little-endian); a status with ``FRAMED`` set
has a framed record (payload length u64, number of buffers u16, each buffer's length u64,
payload, buffers), else the record is the payload alone. ``crc`` is one CRC-32 of ``idx``
then ``data``, checked when the batch is first read; ``counts`` is a JSON list of
``[name, done, failed]``. Version 1's row: ``idx`` is packed ``(key, status, crc32 of the
record, offset, length)`` entries, every record framed.

Why a checksum at all inside SQLite: SQLite checksums the frames of its WAL, but only to
find where a torn WAL ends when it recovers it; pages of the database file carry no
checksum, so a block damaged on disk after a checkpoint is read back as it is. One CRC per
batch (rather than per record) costs one ``zlib.crc32`` call per commit, and covers the
index too (a damaged status or offset would otherwise return a wrong outcome); a damaged
batch makes all its tasks run again, rather than one.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from collections import Counter
from functools import lru_cache
from itertools import accumulate
from typing import Any, Optional, Sequence

FORMAT = 2                      # PRAGMA user_version of the files this code writes
APPLICATION_ID = 0x6E706A6C     # "npjl" in PRAGMA application_id: the file is ours
FRAMED = 0x80                   # in a version-2 status: the record is framed (has buffers)

SCHEMA = """
CREATE TABLE runs(id INTEGER PRIMARY KEY, program TEXT, argv TEXT, host TEXT, pid INTEGER,
                  started REAL, ended REAL);
CREATE TABLE batches(id INTEGER PRIMARY KEY, run INTEGER, at REAL, idx BLOB NOT NULL,
                     data BLOB NOT NULL, counts TEXT, crc INTEGER);
CREATE TABLE names(batch INTEGER, name TEXT, done INTEGER, failed INTEGER)
"""
UPGRADE_FROM_1 = ("ALTER TABLE batches ADD COLUMN counts TEXT",
                  "ALTER TABLE batches ADD COLUMN crc INTEGER")

ENTRY_1 = struct.Struct("<16sBIQQ")  # version 1: key, status, crc32 of the record, offset, length
HEAD = struct.Struct("<QH")          # a framed record: payload length, number of buffers
SIZE = struct.Struct("<Q")           # ... then each buffer's length, the payload, the buffers
_LITTLE = sys.byteorder == "little"
_PER = 16 + 1 + 8                    # bytes of idx per outcome, version 2


def encode(payload: bytes, bufs: list) -> bytes:
    """A framed record; copies (a sink may write into the worker's buffers later)."""
    parts = [HEAD.pack(len(payload), len(bufs))]
    parts += [SIZE.pack(memoryview(b).nbytes) for b in bufs]
    parts.append(payload)
    parts += bufs
    return b"".join(parts)


def decode(record: bytes) -> tuple[bytes, list]:
    n, nbufs = HEAD.unpack_from(record)
    pos = HEAD.size
    sizes = [SIZE.unpack_from(record, pos + i * SIZE.size)[0] for i in range(nbufs)]
    pos += nbufs * SIZE.size
    payload = record[pos:pos + n]
    pos += n
    bufs = []
    for size in sizes:
        bufs.append(bytearray(record[pos:pos + size]))  # writable, as a worker's buffers are
        pos += size
    return payload, bufs


def pack(outcomes: list) -> tuple[bytes, bytes, str, int]:
    """A version-2 batch's ``idx``, ``data``, ``counts`` and ``crc``, from the outcomes
    ``(key, status, record, function name)`` in the order they were recorded; one call per
    part, none per outcome (a commit of 256 tiny outcomes is on a busy loop's path). A key
    recorded twice is in the row twice: the later one wins when it is read."""
    keys, statuses, records, names = zip(*outcomes)
    data = b"".join(records)
    status_bytes = bytes(statuses)
    ends = array("Q", accumulate(map(len, records)))
    if not _LITTLE:
        ends.byteswap()
    idx = b"".join(keys) + status_bytes + ends.tobytes()
    return idx, data, _counts(status_bytes, names), zlib.crc32(data, zlib.crc32(idx))


def _counts(statuses: bytes, names: Sequence) -> str:
    """``counts``: ``[[name, done, failed], ...]`` in JSON. A batch's outcomes are nearly
    always one function's, which ``list.count`` sees at once where ``Counter`` takes 15 us
    in a busy pool; an outcome failed if its status (``FRAMED`` aside) is not 0."""
    n = len(names)
    name = names[0]
    if names.count(name) == n:
        failed = n - statuses.count(0) - statuses.count(FRAMED)
        return f"[[{_json_name(name)}, {n - failed}, {failed}]]"
    done: Counter = Counter()
    failed_of: Counter = Counter()
    for st, one in zip(statuses, names):
        (failed_of if st & ~FRAMED else done)[one] += 1
    return json.dumps([[one, done[one], failed_of[one]] for one in {**done, **failed_of}])


@lru_cache(maxsize=256)
def _json_name(name: str) -> str:
    return json.dumps(name)


def keys(idx: bytes, counts: Optional[str]) -> list:
    """The keys of a batch row, in order (of either version), without checking anything."""
    if counts is None:
        return [e[0] for e in ENTRY_1.iter_unpack(idx)]
    n = len(idx) // _PER
    return [idx[i:i + 16] for i in range(0, 16 * n, 16)]


def statuses(idx: bytes, counts: Optional[str]) -> list:
    """(key, status, record length) of each outcome of a batch row."""
    if counts is None:
        return [(k, st, length) for k, st, _, _, length in ENTRY_1.iter_unpack(idx)]
    n = len(idx) // _PER
    ends = _ends(idx, n)
    starts = [0, *ends[:-1]]
    return [(idx[16 * i:16 * i + 16], idx[16 * n + i] & ~FRAMED, ends[i] - starts[i])
            for i in range(n)]


def entries(idx: bytes, data: bytes, counts: Optional[str], crc: Optional[int]) -> Optional[dict]:
    """key -> (status, start, end, framed, crc32 of the record or None) of a batch row, or
    None if the row is damaged (version 2: its CRC does not match)."""
    if counts is None:
        return {k: (st, off, off + length, True, c)
                for k, st, c, off, length in ENTRY_1.iter_unpack(idx)}
    n, rest = divmod(len(idx), _PER)
    if rest or zlib.crc32(data, zlib.crc32(idx)) != crc:
        return None
    ends = _ends(idx, n)
    out, start = {}, 0
    for i in range(n):
        st = idx[16 * n + i]
        out[idx[16 * i:16 * i + 16]] = (st & ~FRAMED, start, ends[i], bool(st & FRAMED), None)
        start = ends[i]
    return out


def _ends(idx: bytes, n: int) -> array:
    ends = array("Q", idx[17 * n:])
    if not _LITTLE:
        ends.byteswap()
    return ends


def counts_of(counts: str) -> list:
    """[(name, done, failed), ...] of a version-2 row's ``counts``."""
    return [tuple(c) for c in json.loads(counts)]


def summarize(db: Any, counts_column: str) -> tuple[int, int, int, list, list]:
    """(done, failed, bytes of outcomes, runs, [(name, done, failed)] most first) of the
    journal open as ``db``, whose batches' counts are in ``counts_column`` (``NULL`` in a
    file of format 1, whose counts are in ``names``)."""
    status: dict[bytes, int] = {}
    nbytes = 0
    kept: dict[int, int] = {}                  # run -> outcomes kept
    names: dict[str, list] = {}                # name -> [done, failed]
    for run, idx, counts in db.execute(f"SELECT run, idx, {counts_column} "
                                       "FROM batches ORDER BY id"):
        for key, st, length in statuses(idx, counts):
            status[key] = st
            nbytes += length
            kept[run] = kept.get(run, 0) + 1
        for name, done, failed in counts_of(counts) if counts is not None else ():
            tally = names.setdefault(name, [0, 0])
            tally[0] += done
            tally[1] += failed
    for name, done, failed in db.execute(  # the counts of format 1's batches
            "SELECT name, SUM(done), SUM(failed) FROM names GROUP BY name"):
        tally = names.setdefault(name, [0, 0])
        tally[0] += done
        tally[1] += failed
    failed = sum(1 for st in status.values() if st != 0)
    runs = [(*r, kept.get(r[0], 0)) for r in db.execute(
        "SELECT id, program, argv, host, pid, started, ended FROM runs ORDER BY id")]
    by_name = sorted(((n, d, f) for n, (d, f) in names.items()), key=lambda t: -(t[1] + t[2]))
    return len(status) - failed, failed, nbytes, runs, by_name
