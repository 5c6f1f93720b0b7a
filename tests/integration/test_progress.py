"""The progress line: its text, its total for every map variant, and what a terminal (a pty)
or a pipe gets from ``netpool run``."""

import fcntl
import io
import logging
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
import types

import pytest

import netpool
from netpool._runtime import progress
from _tasks import inc, pid_after
from conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def _snap(done=0, failed=0, pending=0, running=0, submitted=0, expected=0, live=2, starting=0):
    return {"totals": {"done": done, "failed": failed, "pending": pending, "running": running,
                       "submitted": submitted, "expected": expected, "workers_live": live,
                       "workers_starting": starting}}


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_the_line_says_done_total_running_queued_workers_rate_and_eta():
    text = progress.format_line(_snap(done=30, failed=2, pending=60, running=8, submitted=100,
                                      expected=100, starting=1), 4.0)
    assert text == ("netpool: 32/100 tasks, 2 failed, 8 running, 60 queued | workers 2 live, "
                    "1 starting | 4.0/s | ETA 0:17")
    unknown = progress.format_line(_snap(done=5, running=2, submitted=7, expected=None), 4.0)
    assert unknown.startswith("netpool: 5/? tasks, 2 running") and "ETA" not in unknown
    assert "ETA" not in progress.format_line(_snap(done=1, expected=9), None)
    assert "ETA 1:00:00" in progress.format_line(_snap(expected=3600), 1.0)


def test_rate_is_over_the_recent_window():
    rate = progress.Rate(window=10)
    assert rate.add(0.0, 0) is None            # one point: no rate yet
    assert rate.add(1.0, 5) == 5.0
    for t in range(2, 30):
        r = rate.add(float(t), 5 + (t - 1) * 2)  # 2/s from now on
    assert abs(r - 2.0) < 0.25


def test_drawn_on_a_terminal_only_while_there_is_work_and_erased_after():
    out = FakeTTY()
    line = progress.ProgressLine(lambda: {}, lambda: True, out)
    line.refresh(_snap(), 0.0)
    assert out.getvalue() == ""                  # nothing to do: nothing drawn
    line.refresh(_snap(done=1, running=1, submitted=3, expected=3, pending=1), 0.2)
    assert out.getvalue().startswith("\rnetpool: 1/3 tasks") and out.getvalue().endswith("\x1b[K")
    line.refresh(_snap(done=3, submitted=3, expected=3), 0.4)
    assert out.getvalue().endswith("\r\x1b[K")   # done: erased
    plain = io.StringIO()                          # not a terminal, progress=True: plain lines
    line = progress.ProgressLine(lambda: {}, lambda: True, plain)
    for t in range(3):
        line.refresh(_snap(running=1, submitted=1, expected=1), float(t))
    assert plain.getvalue().count("\n") == 1 and "\r" not in plain.getvalue()


def test_a_netpool_log_line_erases_it_first(caplog):
    out = FakeTTY()
    line = progress.ProgressLine(lambda: {}, lambda: True, out)
    progress._lines.add(line)
    try:
        line.refresh(_snap(running=1, submitted=1, expected=1), 0.0)
        assert out.getvalue().endswith("\x1b[K") and "netpool: 0/1" in out.getvalue()
        before = out.getvalue()
        logging.getLogger("netpool").warning("netpool: something")
        assert out.getvalue() == before + "\r\x1b[K"
    finally:
        progress._lines.discard(line)


def test_netpool_log_prints_lifecycle_events_on_stderr(tmp_path):
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import netpool\nfrom _tasks import inc\n"
            "with netpool.DistributedPool(1) as p:\n    print(p.apply(inc, (1,)))\n"
            % os.path.dirname(os.path.dirname(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, NETPOOL_LOG="info"))
    assert out.returncode == 0 and out.stdout == "2\n", out.stderr
    assert " INFO netpool: launched worker 0 (<LocalWorker>)" in out.stderr
    assert " INFO netpool: worker 0 <LocalWorker> on " in out.stderr and "joined" in out.stderr
    quiet = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env={k: v for k, v in os.environ.items()
                                            if k != "NETPOOL_LOG"})
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_it_gives_way_to_an_open_tqdm_bar(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    out = FakeTTY()
    line = progress.ProgressLine(lambda: {}, lambda: True, out)
    busy = _snap(running=1, submitted=2, expected=2, pending=1)
    with tqdm.tqdm(total=2, file=io.StringIO()) as bar:
        assert progress.tqdm_open()
        line.refresh(busy, 0.0)
        assert out.getvalue() == ""
        bar.update(2)
    assert not progress.tqdm_open()
    line.refresh(busy, 0.2)
    assert "netpool: 0/2 tasks" in out.getvalue()


def test_auto_mode_stays_off_in_a_program_that_imported_tqdm(monkeypatch):
    out = FakeTTY()
    busy = _snap(running=1, submitted=2, expected=2, pending=1)
    shy = progress.ProgressLine(lambda: {}, lambda: True, out, shy=True)
    monkeypatch.delitem(sys.modules, "tqdm", raising=False)
    shy.refresh(busy, 0.0)
    assert "netpool: 0/2 tasks" in out.getvalue()
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))  # imported, no bar open
    shy.refresh(busy, 0.2)
    assert out.getvalue().endswith("\r\x1b[K")  # erased, and not drawn again
    shy.refresh(busy, 0.4)
    assert out.getvalue().endswith("\r\x1b[K")


def test_modes():
    assert progress.wanted(True, io.StringIO()) and not progress.wanted(False, FakeTTY())
    assert progress.wanted("auto", FakeTTY()) and not progress.wanted("auto", io.StringIO())
    assert not progress.wanted(None, FakeTTY())  # library use: off unless asked
    with pytest.raises(ValueError):
        netpool.Manager(progress="yes")


# -- the total, for every map variant --------------------------------------------------------

def _expected(pool):
    return pool.stats()["totals"]["expected"]


def test_expected_for_every_map_variant():
    with netpool.DistributedPool(1) as pool:
        assert _expected(pool) == 0
        pool.map(inc, range(10), chunksize=3)                      # 4 chunks, all at once
        assert _expected(pool) == 4
        pool.starmap_async(pow, [(2, 3)] * 5, chunksize=1).get(30)
        assert _expected(pool) == 9
        pool.apply_async(inc, (1,)).get(30)
        assert _expected(pool) == 10
        # An imap over a sized input promises all its chunks before it has read them.
        it = pool.imap(pid_after, [0.05] * 40, chunksize=2, buffersize=1)
        assert _expected(pool) == 30
        assert pool.stats()["totals"]["submitted"] < 30 and _expected(pool) == 30
        assert len(list(it)) == 40
        wait_for(lambda: _expected(pool) == pool.stats()["totals"]["submitted"] == 30, 5,
                 what="the imap's promise kept")
        it = pool.imap_unordered(inc, range(7), chunksize=2)       # 4 chunks
        assert sorted(it) == list(range(1, 8))
        wait_for(lambda: _expected(pool) == 34, 5, what="the imap_unordered's promise kept")
        # An unsized input: unknown until it has been read to the end.
        gen = pool.imap(pid_after, (0.05 for _ in range(10)), buffersize=1)
        assert _expected(pool) is None
        assert len(list(gen)) == 10
        wait_for(lambda: _expected(pool) == 44, 5, what="the generator's end")


# -- netpool run on a terminal and on a pipe -------------------------------------------------

SCRIPT = textwrap.dedent("""
    import sys, time
    from multiprocessing import Pool
    sys.path.insert(0, {tests!r})
    from _tasks import pid_after, sleep_then

    if __name__ == "__main__":
        with Pool(2) as p:
            out = p.starmap(sleep_then, [(0.1, i) for i in range(16)], chunksize=1)
            lazy = list(p.imap(pid_after, (0.15 for _ in range(12)), buffersize=2))
        print("result", sum(out), len(lazy), flush=True)
""")


def _run(tmp_path, *flags, tty=True, script=SCRIPT):
    path = tmp_path / "script.py"
    path.write_text(script.format(tests=os.path.dirname(os.path.dirname(__file__))))
    argv = [sys.executable, "-m", "netpool", "run", *flags, str(path)]
    if not tty:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=90, cwd=tmp_path)
        return out.returncode, out.stdout, out.stderr
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, text=True, cwd=tmp_path)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + 90
    while time.monotonic() < deadline:
        if select.select([master], [], [], 1.0)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read()
    proc.stdout.close()
    return proc.wait(30), stdout, b"".join(chunks).decode()


def test_netpool_run_draws_the_line_on_a_terminal_and_erases_it(tmp_path):
    rc, out, err = _run(tmp_path)
    assert rc == 0, err
    assert "result 120 12" in out
    assert "\rnetpool: " in err and "/16 tasks" in err
    assert "/? tasks" in err                    # the generator's imap: total unknown
    assert err.rstrip(" ").endswith("\r\x1b[K")  # erased at the end, nothing left over
    assert "workers 2 live" in err
    # Once, first: how to watch it from another terminal.
    assert err.count("netpool: watch this run from another terminal: netpool status 127.0.0.1:") == 1


def test_netpool_run_prints_nothing_extra_on_a_pipe(tmp_path):
    rc, out, err = _run(tmp_path, tty=False)
    assert rc == 0, err
    assert "result 120 12" in out and err == ""


def test_no_progress_switches_it_off_on_a_terminal(tmp_path):
    rc, out, err = _run(tmp_path, "--no-progress")
    assert rc == 0 and "result 120 12" in out
    assert "netpool:" not in err


TQDM_SCRIPT = textwrap.dedent("""
    import sys
    from multiprocessing import Pool
    from tqdm import tqdm
    sys.path.insert(0, {tests!r})
    from _tasks import pid_after

    if __name__ == "__main__":
        with Pool(2) as p:
            got = list(tqdm(p.imap(pid_after, [0.1] * 16), total=16))
        print("result", len(got), flush=True)
""")


def test_a_users_tqdm_bar_is_left_alone(tmp_path):
    pytest.importorskip("tqdm")
    rc, out, err = _run(tmp_path, script=TQDM_SCRIPT)
    assert rc == 0, err
    assert "result 16" in out and "16/16" in err  # tqdm drew its bar to the end
    assert "\rnetpool: " not in err and " tasks" not in err  # ours never appeared beside it


MANAGER_SCRIPT = textwrap.dedent("""
    import sys, time
    import netpool
    sys.path.insert(0, {tests!r})
    from _tasks import pid_after

    if __name__ == "__main__":
        m = netpool.Manager(output="w%d.out")
        m.add_worker(netpool.LocalWorker())
        m.add_worker(netpool.LocalWorker())
        ctx = m.get_context()
        for _ in range(12):
            ctx.add_task(lambda: pid_after(0.1))
        print("result", len(list(ctx.get_results_unordered())), flush=True)
        m.close()
""")


def test_a_manager_under_netpool_run_draws_it_too(tmp_path):
    rc, out, err = _run(tmp_path, script=MANAGER_SCRIPT)
    assert rc == 0, err
    assert "result 12" in out and "/12 tasks" in err and err.rstrip(" ").endswith("\r\x1b[K")
