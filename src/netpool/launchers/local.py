"""Workers as child processes of the manager, on this machine.

A local worker is forked from the manager's process, as ``multiprocessing.Pool`` does on
Linux: it starts in a few milliseconds and has the manager's memory, so the main script's
globals, classes and functions, and the ``multiprocessing`` locks and shared values given to
the initializer, are all there, as under the stdlib's ``fork`` start method. When the owner
asks for a fresh interpreter (``WorkerCommand.fork`` is None: ``python=`` given, a ``spawn``
context, no ``os.fork``), the worker is ``python -m netpool.worker`` instead.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from typing import Callable, Optional

from ..errors import LauncherError, WorkerStartError
from .address import choose
from .base import AUTHKEY_ENV, ProcessWorker, WorkerCommand, popen_to_output


class LocalWorker(ProcessWorker):
    """A worker started as a child process on this machine (forked, or a fresh interpreter).

    Its output goes to the manager's ``output`` file (``worker%d.output``), or to the
    manager's own stdout/stderr when the owner asks for that (``DistributedPool`` does).
    """

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        self.output, self.identity = command.output, command.identity
        if command.fork is not None:
            child = command.fork
            self._proc = ForkedProcess(lambda: child(command, authkey), command.output)
            return
        # As the stdlib's Popen does before starting any child (spawn included): what this
        # process printed before the pool came out before what the worker prints.
        _flush_std_streams()
        env = dict(os.environ)
        env[AUTHKEY_ENV] = authkey.hex()
        if not command.output:
            env["NETPOOL_QUIET"] = "1"  # sharing the manager's terminal: no greeting
        try:
            self._proc = popen_to_output(command.argv(), command.output, env=env)
        except LauncherError as exc:  # for the interpreter, the fix is the `python` argument
            raise WorkerStartError(
                f"cannot start a local worker with {command.python[0]!r}: {exc} (check the "
                "`python` argument: the command that starts a Python able to import "
                "netpool)") from exc

    def _replacement(self) -> "LocalWorker":
        return LocalWorker()

    def __repr__(self) -> str:
        return "<LocalWorker>"


class ForkedProcess:
    """A child forked from this process, with the part of ``subprocess.Popen`` we use.

    ``poll``/``wait``/``kill``/``pid``/``returncode`` behave as Popen's (``wait(timeout)``
    raises ``subprocess.TimeoutExpired``), so the exit status of a forked worker is known
    exactly as a spawned one's ("killed by SIGKILL"). The child runs ``child()`` with its
    stdout and stderr in ``output`` (when given) and stdin on /dev/null, as a stdlib fork
    child has it, and ends with ``os._exit``: it never returns into the caller's stack, nor
    runs the parent's atexit handlers.
    """

    def __init__(self, child: Callable[[], int], output: Optional[str] = None) -> None:
        self.returncode: Optional[int] = None
        out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644) \
            if output else None  # opened here, so that a bad path fails in the parent
        _flush_std_streams()  # or what the parent has buffered is written twice
        try:
            pid = os.fork()
        except OSError as exc:
            if out is not None:
                os.close(out)
            raise WorkerStartError(f"cannot fork a local worker: {exc}") from exc
        if pid == 0:
            _child(child, out)
        self.pid = pid
        if out is not None:
            os.close(out)
        try:
            self._pidfd: Optional[int] = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self._pidfd = None

    def sentinel(self) -> Optional[int]:
        """A descriptor that becomes readable when the child ends (a pidfd), or None."""
        return self._pidfd

    def poll(self) -> Optional[int]:
        if self.returncode is None:
            self._waitpid(os.WNOHANG)
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        if self.returncode is None:
            if timeout is not None and self._pidfd is not None:
                if not select.select([self._pidfd], [], [], max(timeout, 0))[0]:
                    raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            elif timeout is not None:
                import time
                deadline = time.monotonic() + timeout
                while self.poll() is None:
                    if time.monotonic() > deadline:
                        raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
                    time.sleep(0.005)
            self._waitpid(0)
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _waitpid(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped by someone else (SIGCHLD ignored): as Popen does
            pid, status = self.pid, 0
        if pid == self.pid and self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(status)
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None

    def __del__(self) -> None:
        if getattr(self, "_pidfd", None) is not None:
            os.close(self._pidfd)  # type: ignore[arg-type]


def _child(child: Callable[[], int], out: Optional[int]) -> None:
    """The forked child's whole life; never returns."""
    code = 1
    try:
        _unstick_std_streams()
        if out is not None:
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.close(out)
        if sys.exc_info()[1] is not None:
            _forget_handled_exception()
        _close_stdin()
        code = child()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        _flush_std_streams()
        os._exit(code)


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (AttributeError, ValueError, OSError):
            pass


def _forget_handled_exception() -> None:
    """Forked inside an ``except`` block (a replacement launched as a worker's link broke),
    the child would chain that exception, which is none of its business, to every exception
    of its own: task tracebacks would show it. The child never returns to that block."""
    try:
        import ctypes
        ctypes.pythonapi.PyErr_SetExcInfo(None, None, None)
    except Exception:
        pass


def _unstick_std_streams() -> None:
    """Drop what the parent had buffered in sys.stdout/stderr at the fork, and replace a
    stream that the fork caught another thread of the parent inside.

    Another thread of the parent may print between the flush before the fork and the fork
    itself (a replacement worker is forked on the loop thread while the program prints):
    the child would write that text a second time. So the child flushes its copy into
    /dev/null first. A stream whose lock the fork left held (a thread was inside it) would
    hang the first print: it is replaced by one on the same descriptor. A helper thread
    tries each flush; one that does not return at once is stuck.
    """
    import threading
    null = os.open(os.devnull, os.O_WRONLY)
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        for fd in saved:
            os.dup2(null, fd)
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if stream is None:
                continue
            probe = threading.Thread(target=_try_flush, args=(stream,), daemon=True)
            probe.start()
            probe.join(0.05)
            if probe.is_alive():
                _stuck.append(stream)  # never collected: its finalizer would hang too
                setattr(sys, name, open(1 if name == "stdout" else 2, "w", closefd=False,
                                        encoding=stream.encoding, errors=stream.errors,
                                        buffering=1 if stream.line_buffering else -1))
    finally:
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


_stuck: list = []


def _try_flush(stream) -> None:
    try:
        stream.flush()
    except (OSError, ValueError):
        pass


def _close_stdin() -> None:
    """As the stdlib's fork children: stdin is /dev/null, never the parent's terminal."""
    if sys.stdin is None:
        return
    try:
        sys.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        fd = os.open(os.devnull, os.O_RDONLY)
        try:
            sys.stdin = open(fd, encoding="utf-8", closefd=False)
        except BaseException:
            os.close(fd)
            raise
    except (OSError, ValueError):
        pass


def default_host(launchers: list, host: "str | None" = None) -> tuple[str, list[str]]:
    """(address to listen on, addresses to give workers) for these launchers and ``host``:
    loopback when every worker is local, else one this machine's workers can reach (see
    :mod:`netpool.launchers.address`). Raises ValueError for an interface without IPv4."""
    return choose(host, all(isinstance(w, LocalWorker) for w in launchers))
