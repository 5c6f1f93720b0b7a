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
from dataclasses import dataclass
from typing import Optional, Sequence

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

    def argv(self, key: str = KEY_ENV) -> list[str]:
        host, port = self.address
        argv = [*self.python, "-m", "netpool.worker", f"{host}:{port}", "--id", str(self.worker_id)]
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

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        raise NotImplementedError

    def _exit_status(self) -> Optional[int]:
        return None

    def _stop(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


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
