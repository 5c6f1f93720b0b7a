"""``netpool status``: a read-only client on the manager's own port, never a worker."""

import json
import logging
import os
import select
import socket
import subprocess
import sys
import time

import pytest

import netpool
from netpool._protocol import messages as M
from netpool._transport.handshake import client_connect
from netpool.status import StatusClient, render
from _tasks import inc, sleep_then
from conftest import wait_for

pytestmark = pytest.mark.timeout(120)


def _shape(value):
    """The keys of a snapshot, recursively (lists by their first element's shape)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value and isinstance(value[0], dict) else "list"
    return "value"


def _status_link(pool, version=M.VERSION):
    hello = (M.HELLO, version, -1, M.ROLE_STATUS, os.getpid(), socket.gethostname())
    return client_connect(pool.address, pool.authkey, hello)


def _unsolicited(chan, wait=0.3):
    """Whatever the manager sends without being asked, within ``wait`` seconds."""
    if not select.select([chan.sock], [], [], wait)[0]:
        return []
    try:
        return chan.recv_ready()
    except EOFError:
        return ["closed"]


def test_a_status_client_during_a_run_gets_no_task_and_changes_nothing():
    with netpool.DistributedPool(2) as pool:
        chan = _status_link(pool)
        client = StatusClient(pool.address, pool.authkey)
        wait_for(lambda: pool.stats()["totals"]["workers_live"] == 2, 30, what="workers")
        result = pool.starmap_async(sleep_then, [(0.02, i) for i in range(60)], chunksize=1)
        seen = []
        while not result.ready():
            snap = client.snapshot()
            seen.append(snap)
            # Never among the workers, however many times it asks.
            assert snap["totals"]["workers_live"] + snap["totals"]["workers_starting"] == 2
            assert os.getpid() not in [w["pid"] for w in snap["workers"]]
            assert _unsolicited(chan, 0.05) == []
        assert result.get(30) == list(range(60))
        assert _unsolicited(chan) == []  # the raw link, never asked, was never sent a thing
        chan.send((M.STATUS,))
        (msg, bufs), = [chan.recv()]
        assert msg[0] == M.SNAPSHOT and not bufs
        final = json.loads(msg[1])
        assert final["totals"]["done"] == 60 and final["totals"]["submitted"] == 60
        assert pool._rt.status_clients() == 2 and pool._rt.worker_count() == 2
        assert any(s["totals"]["running"] for s in seen) or len(seen) < 3
        client.close()
        chan.close()
        assert pool.map(inc, range(10)) == [x + 1 for x in range(10)]
        wait_for(lambda: pool._rt.status_clients() == 0, 10, what="status links closed")


def test_the_snapshot_has_the_shape_of_stats():
    with netpool.DistributedPool(1) as pool:
        assert pool.map(inc, range(5), chunksize=1) == [1, 2, 3, 4, 5]
        client = StatusClient(pool.address, pool.authkey)
        wait_for(lambda: pool.stats()["workers"], 10, what="a worker")
        remote, local = client.snapshot(), pool.stats()
        client.close()
    assert _shape(remote) == _shape(local)
    assert remote["totals"]["done"] == local["totals"]["done"] == 5  # a chunk per item
    assert [w["pid"] for w in remote["workers"]] == [w["pid"] for w in local["workers"]]
    text = render(remote, 2.5, "h:1")
    assert "netpool manager at h:1" in text and "failures: none" in text


def test_a_status_client_of_another_version_is_refused(caplog):
    caplog.set_level(logging.WARNING, logger="netpool")
    with netpool.DistributedPool(1) as pool:
        chan = _status_link(pool, version=M.VERSION - 1)
        with pytest.raises((EOFError, OSError)):
            chan.send((M.STATUS,))
            chan.recv()
        wait_for(lambda: f"a status client (netpool status) speaks protocol {M.VERSION - 1}, "
                 f"manager speaks {M.VERSION}" in caplog.text, 10, what="the refusal logged")
        assert pool.apply(inc, (3,)) == 4


def test_at_most_max_clients_status_links_are_served(caplog):
    from netpool._runtime.statusserve import MAX_CLIENTS
    with netpool.DistributedPool(1) as pool:
        links = [StatusClient(pool.address, pool.authkey) for _ in range(MAX_CLIENTS)]
        assert all(c.snapshot()["totals"]["submitted"] == 0 for c in links)
        extra = _status_link(pool)
        with pytest.raises((EOFError, OSError)):
            extra.send((M.STATUS,))
            extra.recv()
        assert "refused status client" in caplog.text
        links.pop().close()
        wait_for(lambda: pool._rt.status_clients() == MAX_CLIENTS - 1, 10, what="a slot")
        again = StatusClient(pool.address, pool.authkey)
        assert again.snapshot()["workers"] is not None
        for c in links + [again]:
            c.close()
        assert pool.apply(inc, (1,)) == 2


def test_a_status_client_that_sends_anything_else_is_dropped():
    with netpool.DistributedPool(1) as pool:
        chan = _status_link(pool)
        chan.send((M.RESULTS, [(0, 0, M.OK, b"x", 0, 0.0)], []))  # not a status request
        with pytest.raises((EOFError, OSError)):
            chan.recv()
        assert pool.map(inc, range(4), chunksize=1) == [1, 2, 3, 4]
        assert pool.stats()["totals"]["done"] == 4


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "netpool", "status", *args],
                          capture_output=True, text=True, timeout=60, **kw)


def test_the_command_prints_once_as_json_or_text(tmp_path):
    with netpool.DistributedPool(1) as pool:
        pool.map(inc, range(3), chunksize=1)
        where = "%s:%d" % pool.address
        env = dict(os.environ, NETPOOL_AUTHKEY=pool.authkey.hex())
        out = _cli(where, "--once", "--json", env=env)
        assert out.returncode == 0, out.stderr
        assert _shape(json.loads(out.stdout)) == _shape(pool.stats())
        command = pool.status_command().split()
        assert command[:3] == ["netpool", "status", where] and command[3] == "--authkey-file"
        out = _cli(where, "--once", "--authkey-file", command[4])
        assert out.returncode == 0, out.stderr
        assert f"netpool manager at {where}" in out.stdout and "3/3 tasks" in out.stdout
        bad = _cli(where, "--once", env=dict(os.environ, NETPOOL_AUTHKEY="00" * 32))
        assert bad.returncode == 1 and "cannot watch" in bad.stderr
        assert pool.stats()["totals"]["workers_live"] == 1


def test_the_command_follows_a_run_until_the_manager_goes(tmp_path):
    pool = netpool.DistributedPool(1)
    env = dict(os.environ, NETPOOL_AUTHKEY=pool.authkey.hex())
    proc = subprocess.Popen([sys.executable, "-m", "netpool", "status", "%s:%d" % pool.address,
                             "--json", "--interval", "0.1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["totals"]["submitted"] == 0
        pool.map(inc, range(7), chunksize=1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            snap = json.loads(proc.stdout.readline())
            if snap["totals"]["done"] == 7:
                break
        assert snap["totals"]["done"] == 7
        pool.terminate()
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "has gone" in err
    finally:
        pool.terminate()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_command_says_what_is_wrong_with_its_arguments():
    assert _cli("nohost").returncode == 2
    out = _cli("127.0.0.1:1", "--once", env=dict(os.environ, NETPOOL_AUTHKEY="zz"))
    assert out.returncode == 2 and "error" in out.stderr
    out = _cli("127.0.0.1:1", "--once", env=dict(os.environ, NETPOOL_AUTHKEY="00" * 32))
    assert out.returncode == 1 and "cannot watch" in out.stderr


def test_on_a_terminal_the_view_is_redrawn_in_place_until_ctrl_c():
    import pty
    with netpool.DistributedPool(1) as pool:
        pool.map(inc, range(4), chunksize=1)
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "netpool", *pool.status_command().split()[1:],
             "--interval", "0.1"], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        seen = b""
        try:
            deadline = time.monotonic() + 30
            while seen.count(b"\x1b[H\x1b[2J") < 3 and time.monotonic() < deadline:
                if select.select([master], [], [], 1.0)[0]:
                    seen += os.read(master, 65536)
            assert seen.count(b"\x1b[H\x1b[2J") >= 3      # cleared and redrawn, refresh after refresh
            assert b"4/4 tasks" in seen and b"netpool manager at" in seen
            proc.send_signal(2)  # Ctrl-C
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)


RUN_SCRIPT = """
import sys
from multiprocessing import Pool
sys.path.insert(0, {tests!r})
from _tasks import sleep_then

if __name__ == "__main__":
    with Pool(2) as p:
        print("result", sum(p.starmap(sleep_then, [(0.1, i) for i in range(40)], chunksize=1)))
"""


def test_a_netpool_run_watched_from_another_terminal(tmp_path):
    """What a user does: netpool run on a terminal says how to watch it; that command works."""
    import pty
    script = tmp_path / "script.py"
    script.write_text(RUN_SCRIPT.format(tests=os.path.dirname(os.path.dirname(__file__))))
    master, slave = pty.openpty()
    run = subprocess.Popen([sys.executable, "-m", "netpool", "run", str(script)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                           text=True, cwd=tmp_path)
    os.close(slave)
    try:
        seen, deadline = b"", time.monotonic() + 60
        while b"\n" not in seen.partition(b"another terminal: ")[2]:  # the whole line
            assert time.monotonic() < deadline, seen
            if select.select([master], [], [], 1.0)[0]:
                seen += os.read(master, 65536)
        command = seen.partition(b"another terminal: ")[2].split(b"\n")[0].strip().decode()
        assert command.startswith("netpool status 127.0.0.1:") and "--authkey-file" in command
        watch = subprocess.run([sys.executable, "-m", "netpool", *command.split()[1:],
                                "--once", "--json"], capture_output=True, text=True, timeout=30)
        assert watch.returncode == 0, watch.stderr
        snap = json.loads(watch.stdout)
        assert snap["totals"]["expected"] == 40 and len(snap["workers"]) == 2
        while select.select([master], [], [], 1.0)[0]:  # drain the terminal to the end
            try:
                if not os.read(master, 65536):
                    break
            except OSError:
                break
        out, _ = run.communicate(timeout=60)
        assert run.returncode == 0 and out == f"result {sum(range(40))}\n"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        os.close(master)


def test_a_worker_forked_after_a_status_client_holds_no_copy_of_its_link(tmp_path):
    """Closed by the manager, a status link must close for its client, even though a local
    worker was forked (a replacement) while the link was open."""
    from _tasks import die_once
    with netpool.DistributedPool(1) as pool:
        client = StatusClient(pool.address, pool.authkey, timeout=5)
        assert client.snapshot()["totals"]["workers_live"] in (0, 1)
        first = pool.apply(os.getpid)
        # Its worker dies; the replacement is forked while the status link is open.
        assert pool.apply(die_once, (str(tmp_path / "died"), 7)) == 7
        assert pool.apply(os.getpid) != first
        pool._rt._status_links.close()  # the manager's side only
        with pytest.raises((EOFError, ConnectionResetError, BrokenPipeError)):
            client.snapshot()  # TimeoutError here: the forked worker kept the link open
