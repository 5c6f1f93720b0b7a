"""The journal's file: round trips, crash safety, and every kind of bad file refused."""

import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from netpool.errors import JournalError
from netpool._runtime import journal as J
from netpool._runtime.journaled import key_prefix, task_key

pytestmark = pytest.mark.timeout(120)

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "src")


def key(i):
    return task_key(key_prefix(1, b"fn"), str(i).encode(), [])


def test_outcomes_round_trip_with_buffers(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"one", [bytearray(b"abc"), memoryview(b"de")], "f")
    j.record(key(2), 1, b"boom", [], "f")
    assert j.lookup(key(1)) == (0, b"one", [bytearray(b"abc"), bytearray(b"de")])  # pending
    j.close()
    j = J.Journal(path)
    assert key(1) in j and key(2) in j and key(3) not in j
    status, payload, bufs = j.lookup(key(1))
    assert (status, payload, bufs) == (0, b"one", [b"abc", b"de"])
    bufs[0][0] = ord("X")  # writable, as a worker's buffers are
    assert j.lookup(key(2)) == (1, b"boom", [])
    assert j.lookup(key(3)) is None
    s = j.summary()
    assert (s["done"], s["failed"]) == (1, 1)
    assert len(s["runs"]) == 2 and s["runs"][0][7] == 2 and s["runs"][0][6] is not None
    j.close()


def test_a_buffer_written_to_after_recording_does_not_change_the_record(tmp_path):
    j = J.Journal(tmp_path / "j.db")
    buf = bytearray(b"abc")
    j.record(key(1), 0, b"p", [buf], "f")
    buf[0] = ord("X")
    j.flush()
    assert j.lookup(key(1))[2] == [b"abc"]
    j.close()


def test_outcomes_wait_in_memory_for_a_flush_and_a_full_batch_commits_at_once(tmp_path):
    j = J.Journal(tmp_path / "j.db")
    j.record(key(0), 0, b"p", [], "f")
    assert j.pending == 1
    j.flush()
    assert j.pending == 0
    j.record(key(1), 0, b"p", [], "f")
    reader = J.Journal(tmp_path / "j.db", readonly=True)
    assert key(0) in reader and key(1) not in reader  # not committed yet
    reader.close()
    for i in range(2, J.BATCH_ROWS + 1):
        j.record(key(i), 0, b"p", [], "f")
    assert j.pending == 0  # the batch filled up and was written
    reader = J.Journal(tmp_path / "j.db", readonly=True)
    assert all(key(i) in reader for i in range(J.BATCH_ROWS + 1))
    reader.close()
    j.close()


def test_an_outcome_over_the_limit_is_not_kept(tmp_path):
    j = J.Journal(tmp_path / "j.db", max_result=1000)
    j.record(key(1), 0, b"x" * 10, [bytearray(2000)], "big")
    j.record(key(2), 0, b"x" * 10, [], "small")
    assert key(1) not in j and key(2) in j and j.too_large == 1
    j.close()


@pytest.mark.parametrize("pad", [0, 4000])  # a batch of small records, and one indexed
def test_a_damaged_record_runs_again_rather_than_being_returned(tmp_path, pad):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"the right answer" + b"." * pad, [], "f")
    j.record(key(2), 0, b"another answer", [], "f")
    j.close()
    data = path.read_bytes()
    assert data.count(b"the right answer") == 1
    path.write_bytes(data.replace(b"the right answer", b"the wrong answer"))
    j = J.Journal(path)
    assert j.lookup(key(1)) is None
    assert key(2) not in j  # its batch's other outcomes run again too
    j.close()


WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {src!r})
    from netpool._runtime import journal as J
    from netpool._runtime.journaled import key_prefix, task_key
    j = J.Journal(sys.argv[1])
    prefix = key_prefix(1, b"fn")
    i = 0
    while True:
        k = task_key(prefix, str(i).encode(), [])
        j.record(k, 0, b"value-%d" % i, [b"buf-%d" % i] if i % 3 == 0 else [], "f")
        i += 1
        if i % 7 == 0:
            j.flush()
            print(i, flush=True)
""")


@pytest.mark.parametrize("seed", range(4))
def test_sigkill_at_any_moment_leaves_a_readable_journal(tmp_path, seed):
    """A writer killed mid-stream; a random tail of its file torn off as a crash might."""
    rnd = random.Random(seed)
    path = tmp_path / "j.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(src=SRC))
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                            text=True)
    target = rnd.randrange(1, 60)
    for line in proc.stdout:
        if int(line) >= target * 7:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if seed % 2:
        with open(path, "r+b") as f:  # a torn last write
            f.truncate(os.path.getsize(path) - rnd.randrange(1, 100))
    j = J.Journal(path)
    n = len(j)
    assert n % 7 == 0 and n >= (0 if seed % 2 else target * 7)
    for i in range(n):  # every record that is there is whole and right
        bufs = [bytearray(b"buf-%d" % i)] if i % 3 == 0 else []
        assert j.lookup(key(i)) == (0, b"value-%d" % i, bufs)
    assert key(n) not in j
    j.close()


# -- bad journals --------------------------------------------------------------------------

def test_a_file_of_another_program_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my thesis, chapter 3\n" * 100)
    with pytest.raises(JournalError, match="not a netpool journal"):
        J.Journal(path)
    assert path.read_bytes() == b"my thesis, chapter 3\n" * 100


def test_a_journal_of_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "j.db"
    J.Journal(path).close()
    data = bytearray(path.read_bytes())
    data[16:20] = (J.FORMAT + 1).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="newer netpool"):
        J.Journal(path)
    with pytest.raises(JournalError, match="newer netpool"):
        J.Journal(path, readonly=True)


def test_a_damaged_header_is_refused(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"p", [], "f")
    j.close()
    data = bytearray(path.read_bytes())
    data[0:8] = os.urandom(8)
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="not a netpool journal"):
        J.Journal(path)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("seed", range(3))
def test_damaged_blocks_lose_their_batches_never_a_wrong_result(tmp_path, seed):
    """Blocks overwritten in the middle of the file (a failing disk): what they held runs
    again, what follows them is still found, and nothing damaged is ever returned."""
    rnd = random.Random(seed)
    path = tmp_path / "j.db"
    j = J.Journal(path)
    for i in range(3000):
        j.record(key(i), 0, b"%d:" % i + rnd.randbytes(200), [], "f")
    j.close()
    reader = J.Journal(path, readonly=True)
    first = reader.lookup(key(0))
    reader.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 40000
    from netpool._runtime.journalformat import FRAME_MAGIC
    header = data.index(FRAME_MAGIC, 2 * len(data) // 3)  # a frame's header too: searched past
    data[header:header + 12] = rnd.randbytes(12)
    for p in range(len(data) // 3, len(data) - 140000, 50000):  # not the last two batches
        data[p:p + 64] = rnd.randbytes(64)
    path.write_bytes(bytes(data))
    j = J.Journal(path)
    found = 0
    for i in range(3000):
        got = j.lookup(key(i))
        if got is not None:
            found += 1
            assert got[0] == 0 and got[1].startswith(b"%d:" % i) and len(got[1]) == 200 + len(b"%d:" % i)
    assert j.lookup(key(0)) == first  # before the first damaged block
    assert 0 < found < 3000
    assert j.lookup(key(2999)) is not None  # the last batch, after the damage, is still read
    assert j.summary()["damaged"] > 0
    j.close()


def test_a_folder_or_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(JournalError, match="directory"):
        J.Journal(tmp_path)
    with pytest.raises(JournalError, match="not a folder"):
        J.Journal(tmp_path / "missing" / "j.db")


SYSTEM_PYTHON = "/usr/bin/python3"  # one user nobody may run (the venv's may be under /root)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON),
                    reason="needs root to become another user, and a system python3")
def test_no_write_permission_is_said_at_open():
    """As root every file is writable, so the check runs as user nobody in a child."""
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="netpool-journal-perm-")  # pytest's tmp_path is 0700
    try:
        os.chmod(folder, 0o755)
        J.Journal(os.path.join(folder, "j.db")).close()  # root's: nobody may read, not write
        os.chmod(os.path.join(folder, "j.db"), 0o644)
        code = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {SRC!r})
            from netpool._runtime.journal import Journal
            from netpool.errors import JournalError
            for name in ("j.db", "new.db"):
                try:
                    Journal({folder!r} + "/" + name)
                    print("opened", name)
                except JournalError as exc:
                    print("refused:", exc)
        """)
        out = subprocess.run([SYSTEM_PYTHON, "-c", code], capture_output=True, text=True,
                             timeout=60, user=65534, cwd="/")
        assert out.stdout.count("refused: cannot write the journal") == 2, out.stdout + out.stderr
    finally:
        shutil.rmtree(folder)


def test_a_failed_commit_forgets_its_outcomes_and_the_run_goes_on_without_journaling(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"kept", [], "f")
    j.flush()
    # The file cannot be written any more (as on a full disk): writes fail with EBADF.
    os.dup2(os.open(path, os.O_RDONLY), j._fd)
    j.record(key(2), 0, b"lost", [], "f")
    j.flush()  # logged, not raised
    assert j.broken and j.pending == 0
    assert key(2) not in j and j.lookup(key(2)) is None  # never claimed as recorded
    j.record(key(3), 0, b"ignored", [], "f")
    assert j.pending == 0 and key(3) not in j
    assert j.lookup(key(1)) == (0, b"kept", [])
    j.close()


def test_two_runs_may_append_to_one_journal_at_once(tmp_path):
    path = tmp_path / "j.db"
    a, b = J.Journal(path), J.Journal(path)
    for i in range(0, 600, 2):
        a.record(key(i), 0, b"a%d" % i, [], "f")
        b.record(key(i + 1), 0, b"b%d" % (i + 1), [bytearray(b"x")], "g")
    a.close()
    b.close()
    j = J.Journal(path, readonly=True)
    for i in range(600):
        want = (0, b"a%d" % i, []) if i % 2 == 0 else (0, b"b%d" % i, [bytearray(b"x")])
        assert j.lookup(key(i)) == want
    s = j.summary()
    assert (s["done"], s["failed"], len(s["runs"])) == (600, 0, 2)
    assert sorted(s["names"]) == [("f", 300, 0), ("g", 300, 0)]
    j.close()


# -- journals of formats 1 and 2 (SQLite), converted ----------------------------------------

def _sqlite_journal(path, rows_2, rows_1=()):
    """A journal as netpool wrote it before format 3: SQLite, formats 1 and 2's rows."""
    import json
    import sqlite3
    import struct
    import zlib
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE runs(id INTEGER PRIMARY KEY, program TEXT, argv TEXT, host TEXT,
                          pid INTEGER, started REAL, ended REAL);
        CREATE TABLE batches(id INTEGER PRIMARY KEY, run INTEGER, at REAL, idx BLOB NOT NULL,
                             data BLOB NOT NULL, counts TEXT, crc INTEGER);
        CREATE TABLE names(batch INTEGER, name TEXT, done INTEGER, failed INTEGER);
        PRAGMA application_id = 1852861036; PRAGMA user_version = 2;
    """)
    db.execute("INSERT INTO runs VALUES (1, '/old/prog.py', 'prog.py', 'h', 7, 1.0, 2.0)")
    for outcomes in rows_2:  # (key, status, record)
        data = b"".join(r for _, _, r in outcomes)
        ends, end = [], 0
        for _, _, r in outcomes:
            end += len(r)
            ends.append(end)
        idx = (b"".join(k for k, _, _ in outcomes) + bytes(s for _, s, _ in outcomes)
               + struct.pack(f"<{len(ends)}Q", *ends))
        db.execute("INSERT INTO batches(run, at, idx, data, counts, crc) VALUES (1, 1.5, ?, ?, ?, ?)",
                   (idx, data, json.dumps([["old_f", len(outcomes), 0]]),
                    zlib.crc32(data, zlib.crc32(idx))))
    for key, status, payload in rows_1:  # format 1: framed records, a CRC each
        from netpool._runtime.journalformat import encode
        record = encode(payload, [])
        idx = struct.pack("<16sBIQQ", key, status, zlib.crc32(record), 0, len(record))
        cur = db.execute("INSERT INTO batches(run, at, idx, data) VALUES (1, 1.6, ?, ?)",
                         (idx, record))
        db.execute("INSERT INTO names VALUES (?, 'one_f', 1, 0)", (cur.lastrowid,))
    db.commit()
    db.close()


def test_a_journal_of_format_2_or_1_is_converted_and_keeps_its_work(tmp_path, caplog):
    path = tmp_path / "old.db"
    _sqlite_journal(path, [[(key(1), 0, b"one"), (key(2), 1, b"boom")]], [(key(3), 0, b"three")])
    with pytest.raises(JournalError, match="older netpool"):
        J.Journal(path, readonly=True)  # a reader never converts
    j = J.Journal(path)
    assert "converted" in caplog.text and j.digests
    assert j.lookup(key(1)) == (0, b"one", []) and j.lookup(key(2)) == (1, b"boom", [])
    assert j.lookup(key(3)) == (0, b"three", [])
    j.record(key(4), 0, b"four", [], "new_f")
    j.close()
    assert not os.path.exists(str(path) + "-wal")
    j = J.Journal(path, readonly=True)
    s = j.summary()
    assert (s["done"], s["failed"], len(s["runs"])) == (3, 1, 2)
    assert s["runs"][0][1] == "/old/prog.py" and s["runs"][0][6] == 2.0
    assert sorted(s["names"]) == [("new_f", 1, 0), ("old_f", 1, 1), ("one_f", 1, 0)]
    assert j.lookup(key(4)) == (0, b"four", [])
    j.close()


def test_a_converted_journal_keys_small_tasks_as_format_2_did(tmp_path):
    """Its keys were digests of every task: a small task must still find its outcome."""
    from netpool._protocol import messages as M
    from netpool._runtime.identity import fingerprint
    from netpool._runtime.journaled import JournaledTasks
    from netpool._runtime.tasks import Task
    digest = task_key(key_prefix(M.CALL, fingerprint(os.getpid)), b"args", [])
    path = tmp_path / "old.db"
    _sqlite_journal(path, [[(digest, 0, b"result")]])
    jt = JournaledTasks(J.Journal(path))
    jt.define(1, os.getpid, "getpid")
    got = []

    class Sink:
        def _deliver(self, *a):
            got.append(a)

    assert jt.admit([Task(0, M.CALL, 1, b"args", [], Sink())], lambda m, *a: m(*a)) == []
    assert got == [(0, 0, b"result", [], "the journal")]
    jt.close()


def test_another_programs_sqlite_database_is_not_converted(tmp_path):
    import sqlite3
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match="another program"):
        J.Journal(path)
    assert path.read_bytes() == before and not os.path.exists(str(path) + ".netpool-convert")


def test_a_forked_child_closes_its_copy_and_never_writes_the_parents_journal(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"pending in the parent", [], "f")
    size = os.path.getsize(path)
    pid = os.fork()
    if pid == 0:  # the child: its copy is closed by the at-fork hook; close() writes nothing
        ok = j._fd is None
        j.close()
        os._exit(0 if ok and os.path.getsize(path) == size else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    j.close()
    j = J.Journal(path, readonly=True)
    assert j.lookup(key(1)) == (0, b"pending in the parent", [])
    assert len(j.summary()["runs"]) == 1
    j.close()


def test_a_frame_torn_while_another_run_appended_after_it_loses_nothing_of_that_run(tmp_path):
    """A writer killed in the middle of a frame while a second run appends right after it:
    the torn frame claims a length running into the second run's frame, which must still
    be found (and the torn one never returned)."""
    path = tmp_path / "j.db"
    a, b = J.Journal(path), J.Journal(path)
    a.record(key(1), 0, b"a's answer" * 30, [], "f")
    a.flush()
    b.record(key(2), 0, b"b's answer", [], "g")
    b.flush()
    b.close()
    os.close(a._fd)  # a is killed: no END frame
    a._fd = None
    whole = path.read_bytes()
    at = whole.index(b"a's answer")
    path.write_bytes(whole[:at] + whole[at + 10:])  # 10 bytes of a's frame never written
    j = J.Journal(path, readonly=True)
    assert j.lookup(key(2)) == (0, b"b's answer", [])
    assert j.lookup(key(1)) is None
    j.close()
