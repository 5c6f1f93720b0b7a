"""The supervisor: the process a launcher starts, parent and guard of the task-running worker.

Process tree of one worker, and who watches whom::

    launcher ─> supervisor (this module) ──BEAT──> manager
                  │  watches: the worker's exit (waitpid), its state (stopped?), its
                  │  status page (in a task since when, last tick outside one), the manager
                  └─> worker (process group of its own, PR_SET_PDEATHSIG=SIGKILL)
                        ├─ main thread: serves the manager's link, runs tasks
                        └─ tasks' children (same process group)

Why this shape: the supervisor must outlive whatever the worker does. A task may hold the GIL
in a C call for hours, so nothing inside the worker can be trusted to act; the kernel can.
With the worker as the supervisor's child and ``PR_SET_PDEATHSIG``, a supervisor's death
kills the worker whatever it holds, so no worker is ever left unsupervised (the old shape, a
supervisor forked by the worker, left a worker orphaned at 100 % CPU once its supervisor died
with the manager). As the parent, the supervisor learns of the worker's end at once, with its
status, and sees it stopped (``/proc``); the worker's status page (shared memory, written by
the worker around each task and by a ticker thread) tells it whether the worker is inside a
task (then only ``task_timeout`` limits it) or idle and responsive (else it is hung outside a
task: a thread holding the GIL, say). It mirrors the worker's exit status as its own, so the
manager's messages still say "killed by SIGKILL" or "exit code 3".

The worker leads a process group of its own, so its end (any end) takes its descendants along
(``killpg``); the supervisor is a child subreaper, so those that outlive their parent stay
below it and are reaped. Descendants that left the group (``setsid``) are found in ``/proc``
as the supervisor's descendants and killed too, when the worker ends.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Callable, Optional

from .._protocol import messages as M
from .._transport.handshake import CLIENT_TIMEOUT, client_connect, finish, retrying
from . import forkguard, procfs
from .statuspage import StatusPage


def run(serve: Callable[[StatusPage, int], int], authkey: bytes) -> int:
    """Fork the worker, which runs ``serve(status, info_fd)``, and supervise it.

    ``serve`` connects, writes one line of connection facts to ``info_fd`` (see
    :func:`send_info`), waits there until the heartbeat link is open (:func:`supervised`),
    and serves; its return value is the worker's exit code. Returns (or
    dies of) what the worker exited with.
    """
    status = StatusPage(TICK_SECONDS)
    info_r, info_w = (s.detach() for s in socket.socketpair())  # both ways: see supervised()
    me = os.getpid()
    for stream in (sys.stdout, sys.stderr):  # or the child would print it again
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    # SIGTERM (the manager stopping a worker that has not joined yet) ends the worker first.
    # The handler is in place before the fork (another thread of ours could take the signal,
    # and its default action would orphan the worker); one that comes before the worker's
    # pid is known is carried out once it is.
    signal.signal(signal.SIGTERM, _on_sigterm)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(info_r)
        _worker_side(serve, status, info_w, me)
    _term["worker"] = pid
    if _term["asked"]:
        _end_now(pid)
    os.close(info_w)
    procfs.prctl(procfs.PR_SET_CHILD_SUBREAPER, 1)
    try:
        os.setpgid(pid, pid)  # also done in the child: whichever runs first
    except OSError:
        pass
    return _Supervisor(pid, status, info_r, authkey).run()


_term: dict = {"worker": None, "asked": False}  # the SIGTERM handler's view of the fork


def _on_sigterm(signum: int, frame: object) -> None:
    if _term["worker"] is None:
        _term["asked"] = True  # the fork has not returned yet: run() ends the worker then
    else:
        _end_now(_term["worker"])


def _end_now(pid: int) -> None:
    """SIGTERM in the supervisor: kill the worker and reap it here and now, so that even if
    the manager kills us next, no dead worker is handed to it to reap; the supervisor's
    watch then sees the worker gone, sweeps what it left, and exits."""
    _kill_worker(pid)
    try:
        os.waitpid(pid, 0)  # SIGKILLed: it ends at once
    except ChildProcessError:
        pass
    _term["worker"] = None  # reaped: its pid is no longer ours to signal


def _kill_worker(pid: int, group_only: bool = False) -> None:
    """SIGKILL the worker's process group and, unless ``group_only`` (the worker itself is
    reaped, so its pid may belong to another process by now), the worker."""
    for kill in (os.killpg,) if group_only else (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _worker_side(serve: Callable, status: StatusPage, info_w: int, parent: int) -> None:
    forkguard.reset()  # a worker of a pool made by a task: the outer worker's hook set it
    code = 1
    try:
        procfs.prctl(procfs.PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)  # the supervisor died before we could ask to die with it
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        threading.Thread(target=_ticker, args=(status,), name="netpool-ticker",
                         daemon=True).start()
        code = serve(status, info_w)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:
                pass
        os._exit(code)


TICK_SECONDS = 0.25  # the ticker's step until the heartbeat timeout is known (tick_seconds)
CHECK_SECONDS = 1.0  # how often the supervisor looks at a worker whose end a pidfd tells


def _ticker(status: StatusPage) -> None:
    """Proves the worker can still run Python (a thread that holds the GIL stops it)."""
    while True:
        status.tick()
        time.sleep(status.tick_every)


def tick_seconds(timeout: float) -> float:
    """The ticker's step for a heartbeat timeout: a tenth of it, from 0.25 to 2 s. The
    supervisor's verdict needs a tick older than the whole timeout, and each tick is a
    wake-up: at 0.25 s, 256 workers on 2 cores made ~1,000 a second (issue 9)."""
    return min(max(timeout / 10, TICK_SECONDS), 2.0)


def send_info(fd: int, address: tuple[str, int], worker_id: int, interval: float,
              timeout: float, task_timeout: Optional[float]) -> None:
    """Worker side: tell the supervisor where to open the beat link, once welcomed."""
    line = f"{address[0]} {address[1]} {worker_id} {interval} {timeout} {task_timeout or 0}\n"
    os.write(fd, line.encode())


def supervised(fd: int) -> bool:
    """Worker side: wait until the supervisor's heartbeat link is open (False: it could not
    open one, and is ending us). Only then does the worker say READY: until it does, the
    manager counts it as starting (``connect_timeout``), not as joined and silent
    (``heartbeat_timeout``). In a join storm on a starved machine a supervisor's link took
    longer than the heartbeat timeout to open (issue 9), and the manager killed the worker."""
    try:
        return os.read(fd, 1) == b"+"
    except OSError:
        return False
    finally:
        os.close(fd)


class _WorkerEnded(Exception):
    """The worker ended while its supervisor was opening the heartbeat link."""


class _Supervisor:
    def __init__(self, pid: int, status: StatusPage, info_fd: int, authkey: bytes) -> None:
        self.pid, self.status, self.info_fd, self.authkey = pid, status, info_fd, authkey
        self.wait_status: Optional[int] = None
        self.stopped_since: Optional[float] = None

    def run(self) -> int:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        info = self._read_info()
        if info is not None:
            self._serve_beats(*info)
        self._end_worker()
        return self._mirror()

    def _read_info(self) -> Optional[tuple]:
        data = b""
        while not data.endswith(b"\n"):
            ready, _, _ = select.select([self.info_fd], [], [], 0.5)
            if ready:
                chunk = os.read(self.info_fd, 512)
                if not chunk:
                    return None  # the worker ended (or failed) before it was welcomed
                data += chunk
            elif self._exited():
                return None
        host, port, wid, interval, timeout, task_timeout = data.decode().split()
        return ((host, int(port)), int(wid), float(interval), float(timeout),
                float(task_timeout) or None)

    def _serve_beats(self, address, worker_id: int, interval: float, timeout: float,
                     task_timeout: Optional[float]) -> None:
        hello = (M.HELLO, M.VERSION, worker_id, M.ROLE_BEAT, os.getpid(), socket.gethostname())

        def join():
            # The link is open once the manager's first BEAT says it was admitted: a manager
            # starved by a join storm may cut a handshake after our HELLO was sent, and that
            # must be a failed join, tried again, not a lost manager that ends the worker.
            # Meanwhile the worker may end (a pool terminated as it starts, whose loop sends
            # no BEAT while it waits for us to exit): then we end too, at once.
            if self._exited():
                raise _WorkerEnded
            link = client_connect(address, self.authkey, hello)
            try:
                if not link.take_buffered():
                    ready, _, _ = select.select([link.sock, self.info_fd], [], [],
                                                CLIENT_TIMEOUT)
                    if not ready:
                        raise TimeoutError("no BEAT came")
                    if link.sock not in ready:  # the worker's end of info_fd closed
                        raise _WorkerEnded
                    link.recv()
            except BaseException:
                link.close()
                raise
            return link
        try:
            chan = retrying(join, refused=False)
            finish(chan)
            os.write(self.info_fd, b"+")  # the worker may say READY now (supervised())
        except Exception as exc:
            # The main link is up, so a refused or reset one means the manager is closing
            # as we join (a pool left at once): not worth a line in the program's stderr.
            if not isinstance(exc, (ConnectionError, EOFError, _WorkerEnded)):
                _say(f"cannot open the heartbeat link ({exc}); stopping the worker")
            return
        heard = time.monotonic()
        # The worker's end is seen at once through a pidfd (else within 0.1 s); the other
        # checks need no finer step than a second, or a task's timeout: waking ten times a
        # second, 256 idle supervisors on one machine took 0.4 of its 2 cores.
        ended = procfs.pidfd(self.pid)  # left open: the supervisor ends with this method
        step = min(interval, 0.1 if ended is None else CHECK_SECONDS)
        watch = [chan.sock] if ended is None else [chan.sock, ended]
        next_beat = 0.0
        while not self._exited():
            now = time.monotonic()
            try:
                if now >= next_beat:
                    chan.send((M.BEAT,))
                    next_beat = now + interval
                started = self.status.read()[0]
                wait = min(step, next_beat - now)
                if started and task_timeout:  # kill it on time, not up to a step late
                    wait = min(wait, started + task_timeout - now + 0.001)
                ready, _, _ = select.select(watch, [], [], max(wait, 0.0))
                if chan.sock in ready:
                    chan.recv_ready()
                    heard = time.monotonic()
            except Exception:
                break  # the manager closed our link: it has gone, or dropped this worker
            if self._overdue(heard, timeout, task_timeout, chan):
                break
        # Closed, not dropped: the program's warnings filters reach this forked process
        # (unittest.main() shows ResourceWarnings), and a dropped socket is one of them.
        chan.close()

    def _overdue(self, heard: float, timeout: float, task_timeout: Optional[float], chan) -> bool:
        """Must the worker go now (the manager silent, the worker stuck)? Says why."""
        if time.monotonic() - heard > timeout:
            _say("the manager is silent past the heartbeat timeout; stopping the worker")
            return True
        why = self._verdict(timeout, task_timeout)
        if why is not None:
            _say(f"the worker (pid {self.pid}) {why}; killing it")
            try:
                chan.send((M.BEAT, why))  # the manager's error messages say why
            except Exception:
                pass
            return True
        return False

    def _verdict(self, timeout: float, task_timeout: Optional[float]) -> Optional[str]:
        """Why the worker must be killed now, or None while it is sound."""
        now = time.monotonic()
        if procfs.is_stopped(self.pid):
            self.stopped_since = self.stopped_since or now
            if now - self.stopped_since > timeout:
                return f"was stopped for {now - self.stopped_since:.1f} s (SIGSTOP?)"
            return None
        self.stopped_since = None
        started, ticked = self.status.read()
        if started:
            if task_timeout and now - started > task_timeout:
                return f"ran a task for {now - started:.1f} s, past task_timeout={task_timeout:g}"
            return None
        if ticked and now - ticked > timeout:
            return f"was unresponsive outside a task for {now - ticked:.1f} s"
        return None

    def _exited(self) -> bool:
        if self.wait_status is None:
            try:
                pid, st = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid:
                self.wait_status = st
                _term["worker"] = None  # reaped: SIGTERM has no one to end
        return self.wait_status is not None

    def _end_worker(self) -> None:
        """Kill the worker, its process group and every other descendant; reap them all."""
        _kill_worker(self.pid, group_only=self.wait_status is not None)
        # A descendant that left the group (setsid, a daemonising tool) is still below us: as
        # a child subreaper we inherit every orphan, so the tree under our pid holds them all.
        # Sweep it until nothing is left, as one may fork while the sweep runs.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for pid in procfs.descendants(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                while True:
                    pid, st = os.waitpid(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    if pid == self.pid and self.wait_status is None:
                        self.wait_status = st
                        _term["worker"] = None
            except ChildProcessError:
                return  # nobody left below us
            time.sleep(0.005)  # SIGKILLed children take a moment to become reapable

    def _mirror(self) -> int:
        """Our exit status is the worker's: the manager's messages name what ended it."""
        st = self.wait_status
        if st is None:
            return 1
        if os.WIFSIGNALED(st):
            sig = os.WTERMSIG(st)
            sys.stdout.flush()
            sys.stderr.flush()
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
            os.kill(os.getpid(), sig)
            return 128 + sig
        return os.WEXITSTATUS(st) if os.WIFEXITED(st) else 1


def _say(text: str) -> None:
    print(f"netpool supervisor (pid {os.getpid()}): {text}", file=sys.stderr, flush=True)
