"""The journal's file format (version 4): a header, then checksummed frames, appended.

Why a file of our own and not SQLite (formats 1 and 2 were SQLite databases): a commit
here is one ``os.writev`` of one frame, ~8 us of CPU on this project's machines, where
SQLite's ``INSERT`` of the same row in WAL mode took ~55 us apart from a pool and 150-200 us
in a busy one (page handling, WAL frame checksums, ~15 system calls), on the manager's
loop thread, which a flood of tiny tasks makes the bottleneck (docs/journal.md, "Why an
append-only file"). What SQLite gave has its counterpart here: a torn tail (a writer
killed in the middle of a write) is a last frame that ends past the end of the file and is
ignored; a damaged frame fails its CRC-32 and is skipped (its tasks run again); and since
every frame is one write to a file opened ``O_APPEND``, several runs may append to one
journal at once (on a local file system, as SQLite's WAL needed too).

Layout (all integers little-endian)::

    header   16 bytes MAGIC, u32 format, u32 flags, 8 bytes zero
    frame    4 bytes FRAME_MAGIC, u32 body length, u32 CRC-32 of the body, then the body
    body     u8 kind, then
      RUN    JSON {"run": token, "program", "argv", "host", "pid", "started"}
      END    JSON {"run": token, "ended"}
      SHARED_BATCH  8-byte run token, f64 time, then the outcomes, ``[(function,
             rest of the key, status, record), ...]`` in order, in ``marshal`` (version
             4), where ``function`` is ``(function id, function name)``, one tuple shared
             by all the outcomes of a function, which ``marshal`` writes once and then
             refers to: the commit of small records (1 KiB or less each; one C call to
             write, where the layout below takes ten, each a pass over the outcomes). The
             key is the function id followed by the rest.
      SMALL_BATCH  (format 3, read only) the same with ``(key, status, record, function
             name)``: a runtime keeps its keys split (function id, rest), so that a tiny
             task's key is its arguments' bytes and needs no joining, either way
      BATCH  8-byte run token, f64 time, u32 outcomes n, u32 names length, u32 keys
             length; the names (JSON ``[[name, count], ...]``: the function names of the
             outcomes in order, run-length encoded); the keys, concatenated; u32 end of
             each key; a status byte each; u64 end of each record; the records

A status with ``FRAMED`` set has a framed record (payload length u64, number of buffers
u16, each buffer's length u64, payload, buffers), else the record is the payload alone.
A key is the task's function identity (16 bytes) followed by its pickled arguments when
those are small, else a 16-byte digest of both (journaled.py, ``task_key``): split, a
digest's function id is ``DIGEST`` (none), its rest the digest. The later occurrences of
identical calls have a function id of their own, a digest of the first's, and as rest the
occurrence's number (u64) followed by the first's rest (``_occurrence_mark``).
``DIGESTS`` in the flags means every key is a digest (a journal converted from format 2,
whose keys were all digests: its tasks keep their keys). A format-3 file is read as it is,
and its header says format 4 once this netpool writes to it (older ones cannot read
SHARED_BATCH).
"""

from __future__ import annotations

import json
import marshal
import struct
import sys
import zlib
from array import array
from itertools import accumulate, groupby
from typing import Any, Iterator, Optional

FORMAT = 4
MAGIC = b"netpool journal\x00"
HEADER = struct.Struct("<16sII8x")
FRAME_MAGIC = b"\xfeNPF"
FRAME = struct.Struct("<4sII")
BHEAD = struct.Struct("<8sdIII")
BHEAD_SMALL = struct.Struct("<8sd")
RUN, END, BATCH, SMALL_BATCH, SHARED_BATCH = 1, 2, 3, 4, 5
DIGEST = b""                    # the function id of a key that is a digest
FRAMED = 0x80                   # in a status: the record is framed (it has buffers)
DIGESTS = 1                     # in the header's flags: every key is a digest
HEAD = struct.Struct("<QH")     # a framed record: payload length, number of buffers
SIZE = struct.Struct("<Q")      # ... then each buffer's length, the payload, the buffers
_LITTLE = sys.byteorder == "little"
_KIND = {k: bytes((k,)) for k in (RUN, END, BATCH, SMALL_BATCH, SHARED_BATCH)}


def header(flags: int = 0) -> bytes:
    return HEADER.pack(MAGIC, FORMAT, flags)


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


def frame(kind: int, parts: list) -> list:
    """The buffers of one frame, for one ``os.writev``: its header, the kind, ``parts``."""
    crc = zlib.crc32(_KIND[kind])
    size = 1
    for p in parts:
        crc = zlib.crc32(p, crc)
        size += len(p)
    return [FRAME.pack(FRAME_MAGIC, size, crc), _KIND[kind], *parts]


def json_frame(kind: int, obj: dict) -> list:
    return frame(kind, [json.dumps(obj).encode()])


def split(key: bytes) -> tuple[bytes, bytes]:
    """(function id, rest) of a key: ``DIGEST`` and the key itself for a digest."""
    return (key[:16], key[16:]) if len(key) > 16 else (DIGEST, key)


def small_batch(run: bytes, at: float, outcomes: list) -> list:
    """A SHARED_BATCH frame's buffers, from the outcomes ``(function, rest, status,
    record)``, ``function`` being ``(function id, name)`` (shared: see the layout)."""
    return frame(SHARED_BATCH, [BHEAD_SMALL.pack(run, at), marshal.dumps(outcomes, 4)])


def small_outcomes(body: Any, kind: int) -> list:
    """The outcomes of a SHARED_BATCH (or SMALL_BATCH) body after its kind byte (whose CRC
    matched), as ``small_batch`` took them; raises ``ValueError`` if they are not what it
    wrote. A SMALL_BATCH's ``(key, status, record, name)`` come out in the same form."""
    try:
        outcomes = marshal.loads(body[BHEAD_SMALL.size:])
    except (EOFError, TypeError) as exc:
        raise ValueError(f"a small batch does not hold together: {exc}") from None
    if type(outcomes) is not list or not all(type(o) is tuple and len(o) == 4
                                             for o in outcomes):
        raise ValueError("a small batch holds something else")
    if kind == SMALL_BATCH:  # format 3: whole keys, split here
        functions: dict = {}
        out = []
        for key, st, rec, name in outcomes:
            if type(key) is not bytes or type(name) is not str:
                raise ValueError("a small batch holds something else")
            f, rest = split(key)
            out.append((functions.setdefault((f, name), (f, name)), rest, st, rec))
        return out
    if not all(type(o[0]) is tuple and len(o[0]) == 2 and type(o[0][0]) is bytes
               and type(o[0][1]) is str and type(o[1]) is bytes for o in outcomes):
        raise ValueError("a small batch holds something else")
    return outcomes


def keyed(outcomes: list) -> list:
    """``(key, status, record, name)`` of outcomes ``(function, rest, status, record)``."""
    return [(f[0] + rest, st, rec, f[1]) for f, rest, st, rec in outcomes]


def batch(run: bytes, at: float, outcomes: list, join: bool = True) -> list:
    """A BATCH frame's buffers, from the outcomes ``(key, status, record, function name)``
    in the order they were recorded (a commit holding a record larger than 1 KiB: few
    outcomes, whose records opening the journal does not read). A key recorded twice is in
    the batch twice: the later one wins when it is read. ``join``: the records joined into
    one buffer, else each its own (large ones, not copied again)."""
    keys, statuses, records, names = zip(*outcomes)
    keys_joined = b"".join(keys)
    key_ends = array("I", accumulate(map(len, keys)))
    ends = array("Q", accumulate(map(len, records)))
    if not _LITTLE:
        key_ends.byteswap()
        ends.byteswap()
    runs = [[name, sum(1 for _ in group)] for name, group in groupby(names)]
    names_json = json.dumps(runs).encode()
    head = BHEAD.pack(run, at, len(keys), len(names_json), len(keys_joined))
    return frame(BATCH, [head, names_json, keys_joined, key_ends.tobytes(), bytes(statuses),
                         ends.tobytes(), *([b"".join(records)] if join else records)])


class Index:
    """What a BATCH's index says, read without its records: ``keys`` in order, and
    (``names``, ``statuses``, ``ends``) once ``full``."""

    __slots__ = ("run", "at", "n", "names", "keys", "statuses", "ends", "data_at")

    @classmethod
    def parse(cls, body: Any, full: bool = True) -> "Index":
        """From a BATCH body after its kind byte (all of it, or the part before the
        records); raises ``ValueError`` if it does not hold together."""
        ix = cls()
        ix.run, ix.at, n, names_len, keys_len = BHEAD.unpack_from(body, 0)
        ix.n = n
        pos = BHEAD.size
        names = bytes(body[pos:pos + names_len])
        pos += names_len
        keys = bytes(body[pos:pos + keys_len])
        pos += keys_len
        key_ends = _u(array("I"), body[pos:pos + 4 * n])
        pos += 4 * n
        if len(keys) != keys_len or len(key_ends) != n or (n and key_ends[-1] != keys_len):
            raise ValueError("a batch's keys do not hold together")
        ix.keys = [keys[s:e] for s, e in zip((0, *key_ends[:-1]), key_ends)]
        ix.statuses = bytes(body[pos:pos + n])
        ends = _u(array("Q"), body[pos + n:pos + 9 * n]) if full else None
        ix.ends = ends
        ix.data_at = pos + 9 * n
        ix.names = json.loads(names) if full else None
        if full and (len(ix.statuses) != n or len(ends) != n):
            raise ValueError("a batch's index is cut short")
        return ix

    @staticmethod
    def keys_end(body_head: bytes) -> int:
        """Where the keys' ends stop in a BATCH body: all that opening reads of it."""
        _, _, n, names_len, keys_len = BHEAD.unpack_from(body_head, 0)
        return BHEAD.size + names_len + keys_len + 4 * n

    def entries(self, body: Any) -> dict:
        """key -> (status, record) of a BATCH ``body`` (after its kind byte), the later
        entry of a key winning; a record is a slice of ``body``."""
        out, start, base = {}, self.data_at, self.data_at
        for key, st, end in zip(self.keys, self.statuses, self.ends):
            out[key] = (st, body[start:base + end])
            start = base + end
        return out

    def record_sizes(self) -> list:
        return [end - start for start, end in zip((0, *self.ends[:-1]), self.ends)]

    def each_name(self) -> list:
        """The function name of each outcome, in order."""
        return [name for name, count in self.names for _ in range(count)]


def _u(arr: array, raw: Any) -> array:
    arr.frombytes(bytes(raw)[:len(raw) - len(raw) % arr.itemsize])
    if not _LITTLE:
        arr.byteswap()
    return arr


def check_header(head: bytes) -> Optional[str]:
    """None if ``head`` (the file's first bytes) is a good header, else why it is not:
    ``"newer"`` or ``"other"``; an empty or cut header (a file being created) is ``"empty"``."""
    if len(head) < HEADER.size:
        return "empty" if MAGIC.startswith(head[:16]) else "other"
    magic, version, _ = HEADER.unpack_from(head)
    if magic != MAGIC:
        return "other"
    if version > FORMAT:
        return "newer"
    return None


def run_token(body: bytes) -> Optional[bytes]:
    """The run token of a RUN frame's body after its kind byte; None if it has none."""
    try:
        return bytes.fromhex(json.loads(body)["run"])
    except (ValueError, TypeError, KeyError):
        return None


def frames(f: Any, start: int, size: int, damaged: list) -> Iterator[tuple[int, int, int, int]]:
    """(offset, kind, body length, CRC) of each frame of the file ``f`` from ``start`` on,
    leaving ``f`` at the body's second byte (after the kind); ``size`` is the file's length.
    A frame that ends past ``size`` is a torn tail (or one being written): the end. A frame
    header that does not hold together (a damaged block) is searched past for the next
    frame whose CRC matches; the offset where the search began goes into ``damaged``."""
    pos = start
    while pos + FRAME.size + 1 <= size:
        f.seek(pos)
        raw = f.read(FRAME.size + 1)
        magic, length, crc = FRAME.unpack_from(raw)
        end = pos + FRAME.size + length
        if magic == FRAME_MAGIC and length >= 1 and end <= size and _whole(f, pos, end, size,
                                                                             crc):
            f.seek(pos + FRAME.size + 1)
            yield pos, raw[FRAME.size], length, crc
            pos = end
            continue
        found = _resync(f, pos + 1, size)
        if found is None:  # nothing whole after it: a torn last frame, or one being written
            return
        damaged.append(pos)
        pos = found


def _whole(f: Any, pos: int, end: int, size: int, crc: int) -> bool:
    """Whether the frame at ``pos`` ends where the next begins (or the file ends), else
    whether its CRC matches: a frame torn by a writer killed while another run appended
    after it claims a length that runs into the next frame, which must not be lost."""
    if end < size:
        f.seek(end)
        if f.read(len(FRAME_MAGIC)) != FRAME_MAGIC:
            f.seek(pos + FRAME.size)
            return zlib.crc32(f.read(end - pos - FRAME.size)) == crc
    return True


def _resync(f: Any, pos: int, size: int) -> Optional[int]:
    """The offset of the next whole frame with a good CRC at or after ``pos``, or None."""
    while pos < size:
        f.seek(pos)
        block = f.read(1 << 20)
        hit = block.find(FRAME_MAGIC)
        if hit < 0:
            if len(block) < 4:
                return None
            pos += len(block) - 3
            continue
        at = pos + hit
        f.seek(at)
        raw = f.read(FRAME.size)
        if len(raw) == FRAME.size:
            _, length, crc = FRAME.unpack(raw)
            if (length >= 1 and at + FRAME.size + length <= size
                    and zlib.crc32(f.read(length)) == crc):
                return at
        pos = at + 1
    return None


def summarize(f: Any, size: int) -> tuple[dict, int, list, dict, dict]:
    """Everything in the journal file ``f`` of ``size`` bytes, every frame's CRC checked:
    (key -> status, bytes of records, offsets of damaged frames, run token -> [program,
    argv, host, pid, started, ended, outcomes kept], function name -> [done, failed])."""
    status: dict[bytes, int] = {}
    nbytes, damaged = 0, []
    runs: dict[str, list] = {}
    names: dict[str, list] = {}
    for at, kind, length, crc in frames(f, HEADER.size, size, damaged):
        body = f.read(length - 1)
        if zlib.crc32(body, zlib.crc32(_KIND.get(kind, bytes((kind,))))) != crc:
            damaged.append(at)
            continue
        try:
            if kind in (RUN, END):
                info = json.loads(body)
                run = runs.setdefault(info["run"], [None] * 6 + [0])
                if kind == RUN:
                    run[:5] = [info[k] for k in ("program", "argv", "host", "pid", "started")]
                else:
                    run[5] = info["ended"]
                continue
            if kind in (SMALL_BATCH, SHARED_BATCH):
                outcomes = keyed(small_outcomes(body, kind))
                token = BHEAD_SMALL.unpack_from(body)[0]
            elif kind == BATCH:
                ix = Index.parse(body)
                token = ix.run
                outcomes = list(zip(ix.keys, ix.statuses, ix.record_sizes(), ix.each_name()))
            else:
                continue
        except (ValueError, KeyError):
            damaged.append(at)
            continue
        runs.setdefault(token.hex(), [None] * 6 + [0])[6] += len(outcomes)
        for key, st, record, name in outcomes:
            st &= ~FRAMED
            status[key] = st
            nbytes += record if type(record) is int else len(record)
            names.setdefault(name, [0, 0])[st != 0] += 1
    return status, nbytes, damaged, runs, names
