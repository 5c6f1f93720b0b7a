"""What every launcher shares: the worker command line, and the Worker / WorkerArray protocol.

A launcher only starts processes; it never carries tasks. The manager gives it one
:class:`WorkerCommand` per worker, and the worker connects back by itself. Builders of argv
lists and job scripts are pure functions, so they are golden-tested without a scheduler.

Authkey delivery, never on a command line:

* ``KEY_ENV``: the key (hex) in the ``NETPOOL_AUTHKEY`` variable of the child's environment,
  readable only by its owner (``/proc/PID/environ`` is mode 0400). Used by local workers.
* ``KEY_STDIN``: written on the worker's standard input (``--authkey-stdin``). Used over ssh.
* ``KEY_FILE``: a 0600 file that the manager writes in a 0700 folder (``--authkey-file PATH``);
  the worker must see the same path, so batch launchers assume a shared filesystem.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ..errors import LauncherError, describe_exit

KEY_ENV, KEY_STDIN, KEY_FILE = "env", "stdin", "file"
AUTHKEY_ENV = "NETPOOL_AUTHKEY"


@dataclass(frozen=True)
class WorkerCommand:
    """How to start one worker. Holds nothing secret, so it may be logged."""

    python: tuple[str, ...]
    address: tuple[str, int]
    worker_id: int
    output: Optional[str] = None  # file for stdout + stderr; None: inherit the manager's
    authkey_file: Optional[str] = None
    alternatives: tuple[str, ...] = ()  # more addresses of the manager, tried in turn
    # For local workers: what a child forked from the manager runs instead of ``argv``
    # (``fork(command, authkey) -> exit code``); None when the worker must be a fresh
    # interpreter (``python=`` given, a spawn or forkserver context, no os.fork).
    fork: Optional[Callable[["WorkerCommand", bytes], int]] = field(
        default=None, compare=False, repr=False)
    identity: tuple = ()  # its multiprocessing _identity, e.g. (3,): ForkPoolWorker-3
    # No greeting ("connecting to ..."): the worker's output is the user program's own
    # stdout/stderr (``output`` None), where only what tasks print belongs.
    quiet: bool = False

    def argv(self, key: str = KEY_ENV) -> list[str]:
        host, port = self.address
        argv = [*self.python, "-m", "netpool.worker", f"{host}:{port}", "--id", str(self.worker_id)]
        for alt in self.alternatives:
            argv += ["--alt", alt]
        if self.quiet:
            argv.append("--quiet")
        if key == KEY_STDIN:
            argv.append("--authkey-stdin")
        elif key == KEY_FILE:
            if not self.authkey_file:
                raise ValueError("KEY_FILE delivery needs WorkerCommand.authkey_file")
            argv += ["--authkey-file", self.authkey_file]
        return argv

    def shell(self, key: str = KEY_ENV) -> str:
        """The command as one shell string, every word quoted."""
        return " ".join(shlex.quote(a) for a in self.argv(key))


def split_python(python: Optional[str | Sequence[str]], default: str) -> tuple[str, ...]:
    """The manager's ``python`` argument (a shell string of one or more words) as argv words."""
    if python is None:
        return (default,)
    words = tuple(shlex.split(python)) if isinstance(python, str) else tuple(python)
    if not words:
        raise ValueError("python must name an interpreter command, got an empty string")
    return words


class Worker:
    """One worker process, started somewhere by a subclass.

    The manager calls ``_start`` once, later ``_exit_status`` to learn whether the process
    ended (``None`` while running or when the launcher cannot tell), and ``_stop`` when it
    closes. ``key_delivery`` says how the worker gets the authkey.
    """

    key_delivery = KEY_ENV
    output: Optional[str] = None
    identity: tuple = ()                  # set at the start: its multiprocessing _identity
    replaced_by: "Optional[Worker]" = None  # the launcher that replaced it, once it died
    # With no output file, does what the worker prints reach the manager's own stdout and
    # stderr by itself (a local child, ssh, srun and qrsh relay it)? If not (a batch job's
    # output file), the manager has the worker forward it (forward_output).
    relays_output = True
    connected = False  # set by the manager once the worker's link is up (ssh.py's _stop)

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        raise NotImplementedError

    def _exit_status(self) -> Optional[int]:
        return None

    def _stop(self) -> None:
        pass

    def _replacement(self) -> "Worker | WorkerArray | None":
        """A fresh, unstarted launcher for a worker like this one (a one-worker array for a
        member of a batch array), or None if it cannot be replaced."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


class ChildProcess:
    """Mixin for a launcher whose started process (``_proc``) is our child."""

    _proc: Optional[subprocess.Popen] = None

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc else None

    def _exit_status(self) -> Optional[int]:
        """The child's exit status once it has ended, else None."""
        return self._proc.poll() if self._proc else None


class ProcessWorker(ChildProcess, Worker):
    """A worker whose process, or the client that runs it elsewhere (ssh, qrsh), is our child."""

    def _stop(self) -> None:
        """Kill the child and reap it, so no zombie outlives the manager's stop."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass

    def _reap(self, timeout: float) -> Optional[int]:
        """Wait up to ``timeout`` for the child to end; its exit code, or None."""
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


class WorkerArray:
    """Several workers started together (a job array, a parallel environment).

    ``_get_workers`` returns one :class:`Worker` per slot, used for numbering and output
    files; ``_start`` gets their commands in the same order.
    """

    key_delivery = KEY_FILE

    def _get_workers(self) -> list[Worker]:
        raise NotImplementedError

    def _start(self, commands: list[WorkerCommand], authkey: bytes) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        pass

    def _can_replace(self) -> bool:
        """Can each of its workers be replaced (``_replacement``) when it is lost?"""
        return False


def write_key_file(folder: str, authkey: bytes) -> str:
    """Write the authkey (hex) to a 0600 file in ``folder`` (created 0700) and return its path."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    path = os.path.join(folder, "authkey")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, authkey.hex().encode() + b"\n")
    finally:
        os.close(fd)
    return path


# ---------------------------------------------------------------------------------------------
# Helpers shared by the ssh and batch launchers (ssh.py, batch.py and the schedulers'): they
# only run commands and turn failures into LauncherError. Job scripts and arrays: batch.py.

SUBMIT_TIMEOUT = 120.0  # seconds a qsub/sbatch/... may take before we give up on it


def missing_command(cmd: str) -> LauncherError:
    """The error for a scheduler or ssh command that cannot be executed."""
    return LauncherError(
        f"cannot run {cmd!r}: command not found; it must be on the PATH of the manager "
        f"process (PATH={os.environ.get('PATH', '')!r})")


def run_command(argv: Sequence[str], input: Optional[str] = None,
                ignore: Sequence[str] = (), timeout: float = SUBMIT_TIMEOUT) -> str:
    """Run ``argv`` (no shell), feed it ``input``, and return its standard output.

    Raises :class:`LauncherError` if the command is missing, takes longer than ``timeout``,
    or exits non-zero, unless its output contains one of the ``ignore`` strings.
    """
    try:
        proc = subprocess.run(
            list(argv), input=input, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL if input is None else None, close_fds=True)
    except FileNotFoundError:
        raise missing_command(argv[0]) from None
    except PermissionError as exc:
        raise LauncherError(f"cannot run {argv[0]!r}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise LauncherError(f"{shlex.join(argv)} did not finish within {timeout:g} s") from None
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and not any(s in output for s in ignore):
        raise LauncherError(f"{shlex.join(argv)} failed ({describe_exit(proc.returncode)}): "
                            f"{output.strip() or '(no output)'}")
    return proc.stdout


def popen_to_output(argv: Sequence[str], output: Optional[str],
                    stdin: int = subprocess.DEVNULL,
                    env: Optional[dict] = None) -> subprocess.Popen:
    """Start ``argv`` (no shell) with stdout + stderr in the file ``output`` (truncated).

    ``output`` None: inherit the manager's. A missing command raises :class:`LauncherError`.
    """
    out = open(output, "wb") if output else None
    try:
        return subprocess.Popen(list(argv), stdin=stdin, stdout=out, env=env,
                                stderr=subprocess.STDOUT if out else None, close_fds=True)
    except FileNotFoundError:
        raise missing_command(argv[0]) from None
    except PermissionError as exc:
        raise LauncherError(f"cannot run {argv[0]!r}: {exc}") from None
    finally:
        if out is not None:
            out.close()
