"""Workers as child processes of the manager, on this machine."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

from ..errors import WorkerStartError
from .base import AUTHKEY_ENV, ProcessWorker, WorkerCommand


class LocalWorker(ProcessWorker):
    """A worker started as a child process on this machine.

    Its output goes to the manager's ``output`` file (``worker%d.output``), or to the
    manager's own stdout/stderr when the owner asks for that (``DistributedPool`` does).
    """

    def __init__(self) -> None:
        self._proc: Optional[subprocess.Popen] = None

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        env = dict(os.environ)
        env[AUTHKEY_ENV] = authkey.hex()
        if not command.output:
            env["NETPOOL_QUIET"] = "1"  # sharing the manager's terminal: no greeting
        self.output = command.output
        out = open(command.output, "wb") if command.output else None
        try:
            self._proc = subprocess.Popen(
                command.argv(), env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT if out else None, close_fds=True)
        except OSError as exc:
            raise WorkerStartError(
                f"cannot start a local worker: {exc.strerror}: {command.python[0]!r} "
                "(check the `python` argument: the command that starts a Python able to "
                "import netpool)") from exc
        finally:
            if out is not None:
                out.close()

    def _replacement(self) -> "LocalWorker":
        return LocalWorker()

    def __repr__(self) -> str:
        return "<LocalWorker>"


def default_python() -> str:
    return sys.executable
