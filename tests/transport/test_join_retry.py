"""A worker whose handshake the manager cut (busy admitting hundreds of others, issue 9)
tries again within its join budget; a failure no retry can cure is not retried."""

import os
import socket
import subprocess
import sys
import threading
import time
from multiprocessing import AuthenticationError

import pytest

import netpool
from netpool._transport import handshake
from conftest import wait_for

pytestmark = pytest.mark.timeout(90)


class CuttingProxy:
    """Listens in front of a manager: cuts the first ``cut`` connections as soon as they come
    (as a manager's admission does to a handshake past its deadline), forwards the rest."""

    def __init__(self, target, cut: int) -> None:
        self.target, self.left, self.seen = target, cut, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.seen += 1
            self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        if self.left > 0:
            self.left -= 1
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            conn.close()  # a reset, at once
            return
        up = socket.create_connection(self.target)
        for a, b in ((conn, up), (up, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def test_a_worker_cut_while_joining_tries_again_and_joins():
    with netpool.DistributedPool(workers=[]) as pool:
        proxy = CuttingProxy(pool.address, cut=3)
        env = dict(os.environ, NETPOOL_AUTHKEY=pool.authkey.hex())
        proc = subprocess.Popen([sys.executable, "-m", "netpool.worker",
                                 "%s:%d" % proxy.address], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: pool._rt.worker_count() == 1 or proc.poll() is not None,
                     timeout=60, what="the worker to join or exit")
            assert proc.poll() is None, f"the worker gave up: {proc.communicate()[1]}"
            assert pool.apply(abs, (-3,)) == 3
            assert proxy.seen >= 4  # three cut, then the main link (and the heartbeat link)
        finally:
            proxy.close()
            proc.kill()
            _, err = proc.communicate(timeout=30)
        assert "trying again" in err, err


def _failing(*errors):
    calls = []

    def join():
        calls.append(time.monotonic())
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "joined"
    return join, calls


def test_retrying_cures_what_a_retry_can_and_nothing_else(monkeypatch):
    monkeypatch.setattr(handshake, "RETRY_FIRST", 0.01)
    join, calls = _failing(ConnectionResetError(), EOFError(), BlockingIOError(11, "timed out"),
                           TimeoutError())
    assert handshake.retrying(join, budget=30) == "joined" and len(calls) == 5
    # a wrong key fails at once, every time
    join, calls = _failing(AuthenticationError("digest sent was rejected"))
    with pytest.raises(AuthenticationError):
        handshake.retrying(join, budget=30)
    assert len(calls) == 1
    # refused before the manager was ever reached: it may not listen yet; after: it has gone
    join, calls = _failing(ConnectionRefusedError(), ConnectionRefusedError())
    assert handshake.retrying(join, budget=30) == "joined"
    join, calls = _failing(EOFError(), ConnectionRefusedError())
    with pytest.raises(ConnectionRefusedError):
        handshake.retrying(join, budget=30)
    assert len(calls) == 2
    join, calls = _failing(ConnectionRefusedError())
    with pytest.raises(ConnectionRefusedError):
        handshake.retrying(join, budget=30, refused=False)
    # and never past the budget
    join, calls = _failing(*[EOFError()] * 1000)
    began = time.monotonic()
    with pytest.raises(EOFError):
        handshake.retrying(join, budget=0.5)
    assert time.monotonic() - began < 0.5 + 0.1


def test_a_heartbeat_link_closed_as_it_joins_is_opened_again_and_the_worker_stays(monkeypatch):
    """The manager closes a supervisor's first heartbeat link right after its HELLO came (as
    a starved manager cut a handshake that had just finished, issue 9's join storm): the
    supervisor waits for the manager's first BEAT before it counts its link open, so it
    joins again instead of stopping a worker that did nothing wrong."""
    from netpool._protocol import messages as M
    from netpool._runtime.workers import WorkerTable

    admit, refused = WorkerTable.admit, []

    def refuse_first_beat(self, hello):
        if hello[3] == M.ROLE_BEAT and not refused:
            refused.append(hello[2])
            return None, False  # the link is closed, silently
        return admit(self, hello)
    monkeypatch.setattr(WorkerTable, "admit", refuse_first_beat)
    with netpool.DistributedPool(workers=[]) as pool:
        proc = _join(pool)
        try:
            live = pool._rt._workers
            wait_for(lambda: any(r.beat is not None for r in live.values())
                     or proc.poll() is not None, timeout=60,
                     what="the heartbeat link to open again, or the worker to exit")
            assert proc.poll() is None, f"the worker was stopped: {proc.communicate()[1]}"
            assert refused and pool.apply(abs, (-3,)) == 3
            assert pool._rt.worker_count() == 1 and not live.dead
        finally:
            proc.kill()
            proc.communicate(timeout=30)


def test_a_worker_whose_heartbeat_link_is_slow_to_open_is_not_killed_as_silent(monkeypatch):
    """The supervisor's heartbeat link takes longer than the heartbeat timeout to open (a
    manager starved by a join storm, issue 9: 37 s, against 30): the worker says READY only
    once it is open, so until then it is starting (``connect_timeout``), not joined and
    silent (``heartbeat_timeout``), and it is not killed."""
    from netpool._protocol import messages as M
    from netpool._runtime import listener

    timeout, real, held = 1.5, listener.server_handshake, []

    def slow_beat(sock, authkey, *args, **kwargs):
        chan, hello = real(sock, authkey, *args, **kwargs)
        if hello[3] == M.ROLE_BEAT and not held:
            held.append(time.monotonic())
            threading.Event().wait(2.5 * timeout)  # the slowness under test
        return chan, hello
    monkeypatch.setattr(listener, "server_handshake", slow_beat)
    with netpool.DistributedPool(workers=[], heartbeat_timeout=timeout) as pool:
        proc = _join(pool)
        try:
            live = pool._rt._workers
            wait_for(lambda: any(r.beat is not None for r in live.values())
                     or proc.poll() is not None or live.dead, timeout=60,
                     what="the heartbeat link to open, or the worker to be lost")
            assert held and not live.dead, live.dead
            wait_for(lambda: pool._rt.worker_count() == 1 or live.dead, timeout=30,
                     what="the worker's READY")
            assert not live.dead, live.dead
            assert proc.poll() is None, f"the worker was stopped: {proc.communicate()[1]}"
            assert pool.apply(abs, (-3,)) == 3
        finally:
            proc.kill()
            proc.communicate(timeout=30)


def _join(pool) -> subprocess.Popen:
    """A ``netpool worker`` joining ``pool`` by itself, its stderr kept for the assertions."""
    env = dict(os.environ, NETPOOL_AUTHKEY=pool.authkey.hex())
    return subprocess.Popen([sys.executable, "-m", "netpool.worker", "%s:%d" % pool.address],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


class MutingProxy(CuttingProxy):
    """Forwards the first link; answers the second (a supervisor's heartbeat link) itself,
    the handshake and no more: its first BEAT never comes, as from a manager whose loop is
    busy ending the pool."""

    def __init__(self, target, authkey: bytes) -> None:
        self.authkey, self.muted = authkey, []
        super().__init__(target, cut=0)

    def _serve(self, conn: socket.socket) -> None:
        if self.seen == 2:
            self.muted.append(handshake.server_handshake(conn, self.authkey))
        else:
            super()._serve(conn)


def _children(pid: int) -> list:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def test_a_supervisor_whose_worker_ends_while_it_joins_ends_at_once():
    # Found with a script whose second pool ended as it started: terminate() asks an idle
    # worker to end and waits for its supervisor, but a supervisor still waiting for its
    # first BEAT did not see its worker end, and terminate() took 1.5 s (its SIGKILL
    # deadline) in one run of five.
    with netpool.DistributedPool(workers=[]) as pool:
        proxy = MutingProxy(pool.address, pool.authkey)
        env = dict(os.environ, NETPOOL_AUTHKEY=pool.authkey.hex())
        proc = subprocess.Popen([sys.executable, "-m", "netpool.worker",
                                 "%s:%d" % proxy.address], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: proxy.muted or proc.poll() is not None, timeout=60,
                     what="the supervisor to send its heartbeat link's HELLO")
            assert proc.poll() is None, proc.communicate()[1]
            (worker,) = _children(proc.pid)
            os.kill(worker, 9)
            start = time.monotonic()
            proc.wait(timeout=30)
            assert time.monotonic() - start < 3.0  # not the link's 30 s timeout
            assert proc.returncode == -9  # the supervisor mirrors its worker's end
            assert pool._rt.worker_count() == 0
        finally:
            proxy.close()
            proc.kill()
