"""Workers as child processes of the manager, on this machine."""

from __future__ import annotations

import os
import socket

from ..errors import LauncherError, WorkerStartError
from .base import AUTHKEY_ENV, ProcessWorker, WorkerCommand, popen_to_output


class LocalWorker(ProcessWorker):
    """A worker started as a child process on this machine.

    Its output goes to the manager's ``output`` file (``worker%d.output``), or to the
    manager's own stdout/stderr when the owner asks for that (``DistributedPool`` does).
    """

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        env = dict(os.environ)
        env[AUTHKEY_ENV] = authkey.hex()
        if not command.output:
            env["NETPOOL_QUIET"] = "1"  # sharing the manager's terminal: no greeting
        self.output = command.output
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


def _primary_address() -> str:
    """This machine's address on the network, for workers on other hosts to connect to."""
    name = socket.gethostname()
    try:
        addrs = socket.gethostbyname_ex(name)[2]
    except OSError:
        return name
    outside = [a for a in addrs if not a.startswith("127.")]
    return (outside or addrs or [name])[0]


def default_host(launchers: list) -> str:
    """Loopback when every worker is local (nothing listens on the network), else our address."""
    if all(isinstance(w, LocalWorker) for w in launchers):
        return "127.0.0.1"
    return _primary_address()
