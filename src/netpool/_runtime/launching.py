"""Starting workers: launch and replacement, the key file, the command that joins a worker.

A launcher only starts processes (``netpool.launchers``); this module gives each worker a
record and a command line, and stops the batch arrays when the runtime ends.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from typing import Any, Callable, Optional

from ..launchers.base import KEY_FILE, WorkerArray, WorkerCommand, write_key_file
from . import inbox, keyfiles
from .workers import WorkerRec, WorkerTable

log = logging.getLogger("netpool")


class Launching:
    """Launches workers for one runtime. ``launch``, ``key_file`` and ``worker_command``
    are thread-safe; ``replace`` and ``shutdown`` run on the thread that owns the core."""

    def __init__(self, *, python: tuple[str, ...], address: tuple[str, int], authkey: bytes,
                 output: Optional[str], workers: WorkerTable, post: Callable[[Any], None],
                 fallbacks: tuple[str, ...] = (), fork: Optional[Callable] = None,
                 local: Optional[tuple[str, int]] = None) -> None:
        self.python = python
        self.address = address
        self.fallbacks = fallbacks    # more addresses a worker may try (launchers.address)
        self.authkey = authkey
        self.output = output          # %-pattern for worker output files, or None
        self.arrays: list[WorkerArray] = []  # appended by the loop, cancelled at shutdown
        self._workers = workers
        self._post = post
        self._keydir: Optional[str] = None
        self._key_lock = threading.Lock()
        # WorkerCommand.fork for local workers when they fork, else None; a forked worker
        # connects to ``local`` (listener.bind_local) when there is one.
        self.fork = fork if fork is None or local is None else _connecting(fork, local)

    def launch(self, launcher: Any) -> None:
        """Start a Worker or WorkerArray now, on the caller's thread.

        Raises what the launcher raises (``LauncherError`` when e.g. ``sbatch`` is missing).
        """
        is_array = isinstance(launcher, WorkerArray)
        members = launcher._get_workers() if is_array else [launcher]
        recs = [self._workers.new_rec(w, self.output) for w in members]
        cmds = [self.command(r, launcher.key_delivery) for r in recs]
        # Registered before the start, so that even a very quick worker finds its record.
        self._post(inbox.Launched(launcher if is_array else None, recs))
        try:
            launcher._start(cmds if is_array else cmds[0], self.authkey)
        except BaseException:
            self._post(inbox.LaunchFailed(recs))
            raise
        self._post(inbox.Started(recs))  # now their processes exist: watch for their exit

    def replace(self, wid: int) -> None:
        """Launch a replacement for worker ``wid``, lost or (walltime) about to go; failures
        are logged, not raised."""
        # The core asks only while work remains, and only when configured to replace, which
        # the facade does only if every launcher can (Worker._replacement).
        lost = self._workers.lost_launchers.pop(wid, None)
        if lost is None and self._workers.get(wid) is not None:
            lost = self._workers.get(wid).launcher  # still working: its successor, early
        if lost is None:  # it joined by itself (`netpool worker`): whoever started it may
            log.info("netpool: worker %d joined by itself: nothing here can replace it", wid)
            return
        fresh = lost._replacement()
        if fresh is None:
            log.error("netpool: worker %d cannot be replaced (%r)", wid, lost)
            return
        lost.replaced_by = fresh  # the facade's pool._pool follows it
        try:
            self.launch(fresh)
        except Exception as exc:
            log.error("netpool: could not launch a replacement worker: %s", exc)

    def key_file(self) -> str:
        """A 0600 file holding the authkey, in a 0700 folder removed when the runtime stops.

        Batch workers need a path on a filesystem they share with us, outside the user's
        project: ``~/.netpool/keys`` or ``$NETPOOL_KEY_DIR`` (keyfiles.py).
        """
        with self._key_lock:
            if self._keydir is None:
                self._keydir = keyfiles.new_key_folder()
                write_key_file(self._keydir, self.authkey)
            return os.path.join(self._keydir, "authkey")

    def worker_command(self) -> str:
        """The command that joins another worker to this runtime, from any machine."""
        import shlex
        host, port = self.address
        return f"netpool worker {host}:{port} --authkey-file {shlex.quote(self.key_file())}"

    def command(self, rec: WorkerRec, key: str) -> WorkerCommand:
        keyfile = self.key_file() if key == KEY_FILE else None
        # A worker writing into the program's own stdout/stderr greets only when asked to
        # (NETPOOL_LOG=info or debug); its failures still reach stderr.
        quiet = rec.output is None and not log.isEnabledFor(logging.INFO)
        return WorkerCommand(tuple(self.python), self.address, rec.id, rec.output, keyfile,
                             self.fallbacks, fork=self.fork, identity=rec.identity, quiet=quiet)

    def shutdown(self) -> None:
        """Cancel the batch arrays and remove the key file."""
        for array in self.arrays:
            try:
                array._stop()
            except Exception as exc:
                log.warning("netpool: could not cancel %r: %s", array, exc)
        if self._keydir is not None:
            import shutil
            shutil.rmtree(self._keydir, ignore_errors=True)


def _connecting(fork: Callable, local: tuple[str, int]) -> Callable:
    """``fork``, in a child that connects to the manager at ``local``."""
    def child(command: WorkerCommand, authkey: bytes) -> int:
        return fork(dataclasses.replace(command, address=local, alternatives=()), authkey)
    return child
