"""Workers as child processes of the manager, on this machine."""

from __future__ import annotations

import os

from ..errors import LauncherError, WorkerStartError
from .address import choose
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


def default_host(launchers: list, host: "str | None" = None) -> tuple[str, list[str]]:
    """(address to listen on, addresses to give workers) for these launchers and ``host``:
    loopback when every worker is local, else one this machine's workers can reach (see
    :mod:`netpool.launchers.address`). Raises ValueError for an interface without IPv4."""
    return choose(host, all(isinstance(w, LocalWorker) for w in launchers))
