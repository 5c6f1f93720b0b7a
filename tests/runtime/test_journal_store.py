"""The journal's file: round trips, crash safety, and every kind of bad file refused."""

import os
import random
import signal
import sqlite3
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


def test_a_damaged_record_runs_again_rather_than_being_returned(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    j.record(key(1), 0, b"the right answer", [], "f")
    j.close()
    db = sqlite3.connect(path)
    (data,) = db.execute("SELECT data FROM batches").fetchone()
    db.execute("UPDATE batches SET data = ?", (data.replace(b"right", b"wrong"),))
    db.commit()
    db.close()
    j = J.Journal(path)
    assert j.lookup(key(1)) is None
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
    """A writer killed mid-stream; a random tail of its WAL torn off as a crash might."""
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
    wal = str(path) + "-wal"
    if seed % 2 and os.path.exists(wal) and os.path.getsize(wal) > 100:
        with open(wal, "r+b") as f:  # a torn last write
            f.truncate(os.path.getsize(wal) - rnd.randrange(1, 100))
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


def test_another_sqlite_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE accounts(name, balance)")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match="another program"):
        J.Journal(path)
    assert path.read_bytes() == before


def test_a_journal_of_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "j.db"
    J.Journal(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {J.FORMAT + 1}")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer netpool"):
        J.Journal(path)


def test_a_corrupted_journal_is_refused(tmp_path):
    path = tmp_path / "j.db"
    j = J.Journal(path)
    for i in range(3000):
        j.record(key(i), 0, os.urandom(200), [], "f")
    j.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 40000
    page = 4096
    for p in range(2 * page, len(data) - page, 3 * page):  # b-tree pages overwritten
        data[p:p + 64] = os.urandom(64)
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError, match="corrupted|not a netpool journal"):
        J.Journal(path)


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
    other = sqlite3.connect(path)  # another program breaks the file under the run
    other.execute("DROP TABLE batches")
    other.commit()
    other.close()
    j.record(key(2), 0, b"lost", [], "f")
    j.flush()  # logged, not raised
    assert j.broken and j.pending == 0
    assert key(2) not in j and j.lookup(key(2)) is None  # never claimed as recorded
    j.record(key(3), 0, b"ignored", [], "f")
    assert j.pending == 0 and key(3) not in j
    j.close()
