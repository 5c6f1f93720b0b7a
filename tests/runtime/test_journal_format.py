"""The journal's format 4, journals of format 3 read and added to, and journals of format 1
(written by netpool before them) converted.

The format-1 and format-3 files are built here with their own layouts, written out by hand
(docs/journal.md, "Format"), not with the library's code, so that what is checked is the
file an older netpool left.
"""

import marshal
import sqlite3
import struct
import zlib

import pytest

from netpool._runtime import journal as J
from netpool._runtime.journaled import key_prefix, task_key

pytestmark = pytest.mark.timeout(60)

V1_SCHEMA = """
CREATE TABLE runs(id INTEGER PRIMARY KEY, program TEXT, argv TEXT, host TEXT, pid INTEGER,
                  started REAL, ended REAL);
CREATE TABLE batches(id INTEGER PRIMARY KEY, run INTEGER, at REAL, idx BLOB NOT NULL,
                     data BLOB NOT NULL);
CREATE TABLE names(batch INTEGER, name TEXT, done INTEGER, failed INTEGER)
"""


def key(i):
    return task_key(key_prefix(1, b"fn"), str(i).encode(), [])


def v1_record(payload, bufs=()):
    head = struct.pack("<QH", len(payload), len(bufs))
    return head + b"".join(struct.pack("<Q", len(b)) for b in bufs) + payload + b"".join(bufs)


@pytest.fixture
def format1(tmp_path):
    """A journal as format 1 wrote it: two batches of one run, one of them with a failure
    and a record with buffers."""
    path = tmp_path / "old.journal"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    for stmt in filter(str.strip, V1_SCHEMA.split(";")):
        db.execute(stmt)
    db.execute(f"PRAGMA application_id = {0x6E706A6C}")
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO runs(program, argv, host, pid, started, ended) "
               "VALUES ('old.py', 'old.py', 'h', 1, 1.0, 2.0)")
    batches = [[(key(0), 0, v1_record(b"zero")), (key(1), 1, v1_record(b"boom"))],
               [(key(2), 0, v1_record(b"two", [b"abc", b"de"]))]]
    for bid, batch in enumerate(batches, 1):
        idx, data = [], b""
        for k, status, rec in batch:
            idx.append(struct.pack("<16sBIQQ", k, status, zlib.crc32(rec), len(data), len(rec)))
            data += rec
        db.execute("INSERT INTO batches VALUES (?, 1, 1.5, ?, ?)", (bid, b"".join(idx), data))
        done = sum(1 for _, st, _ in batch if st == 0)
        db.execute("INSERT INTO names VALUES (?, 'f', ?, ?)", (bid, done, len(batch) - done))
    db.close()
    return path


def expect_old_outcomes(j):
    assert j.lookup(key(0)) == (0, b"zero", [])
    assert j.lookup(key(1)) == (1, b"boom", [])
    assert j.lookup(key(2)) == (0, b"two", [bytearray(b"abc"), bytearray(b"de")])


def test_a_format_1_journal_is_refused_by_a_reader_and_left_as_it_is(format1):
    with pytest.raises(J.JournalError, match="older netpool"):
        J.Journal(format1, readonly=True)
    db = sqlite3.connect(format1)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1  # a reader changes nothing
    db.close()


def test_a_format_1_journal_is_converted_by_a_run_and_its_outcomes_kept(format1):
    j = J.Journal(format1)
    assert (j.format, j.digests) == (4, True)
    expect_old_outcomes(j)
    j.record(key(3), 0, b"three", [], "g")
    j.record(key(4), 0, b"four", [bytearray(b"xyz")], "g")
    j.close()
    j = J.Journal(format1)
    expect_old_outcomes(j)
    assert j.lookup(key(3)) == (0, b"three", [])
    assert j.lookup(key(4)) == (0, b"four", [bytearray(b"xyz")])
    s = j.summary()
    assert (s["format"], s["done"], s["failed"]) == (4, 4, 1)
    assert sorted(s["names"]) == [("f", 2, 1), ("g", 2, 0)]
    assert [r[7] for r in s["runs"]] == [3, 2, 0]
    j.close()


def frames_of(path, version=4):
    """(kind, body) of every frame of a format-4 file, read by hand from its layout."""
    data = open(path, "rb").read()
    assert data[:16] == b"netpool journal\x00"
    assert struct.unpack_from("<I", data, 16) == (version,)
    pos, out = 32, []
    while pos < len(data):
        magic, length, crc = struct.unpack_from("<4sII", data, pos)
        body = data[pos + 12:pos + 12 + length]
        assert magic == b"\xfeNPF" and zlib.crc32(body) == crc
        out.append((body[0], body[1:]))
        pos += 12 + length
    return out


FID = bytes(range(16))  # a function id: a key of small arguments is it and their bytes


def test_a_commit_of_small_records_is_one_frame_of_marshalled_outcomes(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    for i in range(5):
        j.record(key(i), i % 2, b"v%d" % i, [], "f")  # digests
        j.record(FID + b"args%d" % i, 0, b"w%d" % i, [], "g")
    j.flush()
    j.close()
    kinds = [k for k, _ in frames_of(path)]
    assert kinds == [1, 5, 2]  # the run, one commit, the run's end
    body = frames_of(path)[1][1]
    want = []
    for i in range(5):
        want += [((b"", "f"), key(i), i % 2, b"v%d" % i), ((FID, "g"), b"args%d" % i, 0,
                                                          b"w%d" % i)]
    assert marshal.loads(body[16:]) == want
    assert body.count(FID) == 1  # a function's id and name are written once, then referred to


def format3_file(path):
    """A journal as format 3 wrote it: a run, a commit of small records (whole keys), a
    commit of a large one (indexed), the run's end."""
    def frame(kind, body):
        body = bytes((kind,)) + body
        return struct.pack("<4sII", b"\xfeNPF", len(body), zlib.crc32(body)) + body
    token = b"\x01" * 8
    small = [(FID + b"a", 0, b"ay", "g"), (key(0), 1, b"boom", "f"), (FID + b"b", 0, b"bee", "g")]
    big = b"x" * 3000
    names = b'[["g", 1]]'
    index = struct.pack("<8sdIII", token, 2.0, 1, len(names), 17) + names + FID + b"c"
    index += struct.pack("<I", 17) + b"\x00" + struct.pack("<Q", len(big))
    data = struct.pack("<16sII8x", b"netpool journal\x00", 3, 0)
    data += frame(1, b'{"run": "0101010101010101", "program": "old.py", "argv": "old.py", '
                     b'"host": "h", "pid": 1, "started": 1.0}')
    data += frame(4, struct.pack("<8sd", token, 1.5) + marshal.dumps(small, 4))
    data += frame(3, index + big)
    data += frame(2, b'{"run": "0101010101010101", "ended": 3.0}')
    path.write_bytes(data)
    return big


def test_a_format_3_journal_is_read_and_a_run_adding_to_it_marks_it_format_4(tmp_path):
    path = tmp_path / "three.journal"
    big = format3_file(path)
    before = path.read_bytes()
    r = J.Journal(path, readonly=True)  # a reader changes nothing
    assert r.format == 3 and r.summary()["done"] == 3 and r.summary()["failed"] == 1
    r.close()
    assert path.read_bytes() == before

    def expect(j):
        assert j.lookup(FID + b"a") == (0, b"ay", [])
        assert j.lookup(key(0)) == (1, b"boom", [])
        assert j.lookup(FID + b"b") == (0, b"bee", [])
        assert j.lookup(FID + b"c") == (0, big, [])
        assert j.lookup(FID + b"d") is None and len(j) == 4
    j = J.Journal(path)
    assert j.format == 4
    expect(j)
    j.record(FID + b"d", 0, b"dee", [], "g")
    j.close()
    data = path.read_bytes()
    assert data[16:20] == b"\x04\x00\x00\x00" and data[20:] .startswith(before[20:])
    j = J.Journal(path)
    expect_with_d = j.lookup(FID + b"d")
    assert expect_with_d == (0, b"dee", []) and len(j) == 5
    j.close()


def test_a_commit_of_large_records_is_indexed_so_that_opening_skips_the_records(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(0), 0, b"x" * 5000, [], "f")
    j.record(key(1), 1, b"boom", [], "g")
    j.close()
    (kind, body), = [f for f in frames_of(path) if f[0] == 3]
    run, at, n, names_len, keys_len = struct.unpack_from("<8sdIII", body)
    pos = 28
    assert (n, body[pos:pos + names_len]) == (2, b'[["f", 1], ["g", 1]]')
    pos += names_len
    assert body[pos:pos + keys_len] == key(0) + key(1)
    pos += keys_len + 8
    assert body[pos:pos + 2] == b"\x00\x01"
    assert struct.unpack_from("<2Q", body, pos + 2) == (5000, 5004)
    assert body[pos + 18:] == b"x" * 5000 + b"boom"


def test_a_damaged_index_makes_its_batch_run_again(tmp_path):
    """The checksum covers the index: a flipped status would turn a value into an error."""
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"fine" * 1000, [], "f")
    j.close()
    data = bytearray(open(path, "rb").read())
    status_at = data.index(key(1)) + 16 + 4  # after the key and its end
    assert data[status_at] == 0
    data[status_at] = 1
    open(path, "wb").write(bytes(data))
    j = J.Journal(path)
    assert key(1) in j and j.lookup(key(1)) is None and key(1) not in j
    j.close()
