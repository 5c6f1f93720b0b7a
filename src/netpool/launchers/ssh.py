"""Workers started on other hosts with ``ssh``.

What it assumes:

* ``ssh`` (OpenSSH) is on the PATH of the manager process and logs in to the host without a
  password or a question (keys or an agent, and the host key already known): it runs with
  ``-o BatchMode=yes``, so anything else fails at once instead of hanging on a prompt.
* The host can reach the manager's address, and has netpool importable by the interpreter
  that the manager uses (or by ``python``, a command for that host). The remote command is
  run by the login shell of the remote user, whose start files may change PATH: prefer an
  absolute interpreter path.
* No shared filesystem: the authkey goes on the ssh process's standard input (KEY_STDIN,
  ``--authkey-stdin``), never on a command line; the output file is written on the manager's
  host, from what ssh relays.

How a worker ends: killing the local ``ssh`` client does **not** kill the remote command when
there is no tty (it is reparented to init). The remote worker ends by itself when its
connection to the manager closes, which happens when the manager stops; its standard input
also reaches end-of-file when the ssh client dies. So ``_stop`` (called once the manager has
dropped the worker's links) closes the client's stdin and gives it ``STOP_GRACE`` seconds to
exit by itself, as it does once the remote worker has ended: what the worker printed last is
still in flight through sshd and the client, and killing the client at once would lose it.
A worker that never connected has nothing to relay and would not end soon: its client is
killed at once.

Errors: :class:`~netpool.errors.LauncherError` when ``ssh`` cannot be run. An ssh that cannot
log in exits with status 255; ``_exit_status`` reports it and the output file says why.
"""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
from typing import Optional, Sequence

from .base import KEY_STDIN, ProcessWorker, WorkerCommand, popen_to_output, split_python

STOP_GRACE = 2.0  # seconds the ssh client gets to relay the remote worker's last output


def ssh_argv(host: str, remote_command: str, user: Optional[str] = None,
             port: Optional[int] = None, ssh_options: Sequence[str] = (),
             ssh: str = "ssh") -> list[str]:
    """The ssh client's argv that runs ``remote_command`` (one shell string) on ``host``. Pure.

    ``ssh_options`` are extra argv words placed before the host (``("-o", "ConnectTimeout=5")``
    or ``("-i", "/path/key")``).
    """
    argv = [ssh, "-o", "BatchMode=yes", "-T"]
    if port is not None:
        argv += ["-p", str(int(port))]
    if user is not None:
        argv += ["-l", user]
    argv += list(ssh_options)
    argv += ["--", host, remote_command]
    return argv


def remote_command(command: WorkerCommand, python: Optional[str | Sequence[str]] = None) -> str:
    """The worker command as the remote shell will parse it, with ``python`` if given. Pure.

    ``python`` is split like a shell would (``"'/opt/my py/bin/python3' -X dev"``) and each
    word is quoted again, so it names a program and its arguments; shell syntax such as ``~``
    or ``$HOME`` is not expanded: give an absolute path.
    """
    if python is not None:
        command = dataclasses.replace(command, python=split_python(python, ""))
    return command.shell(KEY_STDIN)


class SSHWorker(ProcessWorker):
    """A worker started on ``host`` over ssh, as ``user`` (default: ssh's own choice).

    ``port``: ssh port; ``ssh_options``: extra ssh argv words (a sequence, or one string that is
    split like a shell would); ``python``: the interpreter command on that host, a shell string
    of one or more words, when it differs from the manager's; ``ssh``: the client program.
    """

    key_delivery = KEY_STDIN

    def __init__(self, host: str, user: Optional[str] = None, port: Optional[int] = None,
                 ssh_options: str | Sequence[str] = (), python: Optional[str] = None,
                 ssh: str = "ssh") -> None:
        self._host = host
        self._user = user
        self._port = port
        self._ssh_options = tuple(shlex.split(ssh_options) if isinstance(ssh_options, str)
                                  else ssh_options)
        self._python = python
        self._ssh = ssh
        self._proc: Optional[subprocess.Popen] = None

    def _replacement(self) -> "SSHWorker":
        """Another worker on the same host, with the same ssh settings."""
        return SSHWorker(self._host, self._user, self._port, self._ssh_options, self._python,
                         self._ssh)

    def argv(self, command: WorkerCommand) -> list[str]:
        """The full ssh argv for ``command``. Pure."""
        return ssh_argv(self._host, remote_command(command, self._python), self._user,
                        self._port, self._ssh_options, self._ssh)

    def _start(self, command: WorkerCommand, authkey: bytes) -> None:
        """Start ssh with output to the worker's file, and write the key line on its stdin.

        Stdin stays open: the remote worker may treat its end-of-file as "the manager is gone".
        """
        self.output = command.output
        self._proc = popen_to_output(self.argv(command), command.output, stdin=subprocess.PIPE)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(authkey.hex().encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # ssh already died; _exit_status tells, the output file says why

    def _stop(self) -> None:
        """Let the client relay what the remote worker printed last, then kill it if need be."""
        proc = self._proc
        if proc is not None and proc.poll() is None and self.connected:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
        super()._stop()

    def __repr__(self) -> str:
        who = f"{self._user}@{self._host}" if self._user else self._host
        return f"<SSHWorker {who}>"
