"""The shell's table of workers: launch, links, and how each one ended, in words."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import describe_exit

TAIL_LINES = 15


@dataclass(eq=False)
class WorkerRec:
    """Everything the shell knows of one worker; the core knows only its id."""

    id: int
    launcher: Any = None            # the Worker object that started it (None: joined by itself)
    output: Optional[str] = None
    chan: Any = None                # main link, once connected
    beat: Any = None                # supervisor's heartbeat link
    pid: Optional[int] = None
    host: Optional[str] = None
    ready: bool = False
    stopping: bool = False          # we asked it to exit, so its exit is graceful
    gone: bool = False
    exit_code: Optional[int] = None
    lost_reason: Optional[str] = None
    blobs: set = field(default_factory=set)  # callables already defined on it
    _label: Optional[str] = field(default=None, repr=False)


    def label(self) -> str:
        """``worker 3 LocalWorker() on host pid 123``; given with every result, so kept once
        the worker has connected and it no longer changes."""
        if self._label is not None:
            return self._label
        where = f" on {self.host}" if self.host else ""
        pid = f" pid {self.pid}" if self.pid else ""
        what = repr(self.launcher) if self.launcher is not None else "<joined worker>"
        label = f"worker {self.id} {what}{where}{pid}"
        if self.pid:
            self._label = label
        return label

    def exit_status(self) -> Optional[int]:
        if self.exit_code is None and self.launcher is not None:
            self.exit_code = self.launcher._exit_status()
        return self.exit_code

    def reap(self, timeout: float) -> Optional[int]:
        """Wait a little for a local process that just dropped its link to finish exiting."""
        reap = getattr(self.launcher, "_reap", None)
        if self.exit_code is None and reap is not None:
            self.exit_code = reap(timeout)
        return self.exit_status()

    def how_it_ended(self) -> str:
        reason = {"heartbeat": "was silent past the heartbeat timeout and was killed",
                  "connect": "did not connect back within the connect timeout"}.get(
                      self.lost_reason or "",
                      "lost its connection" if self.chan else "exited before connecting back")
        return f"{self.label()} {reason} ({describe_exit(self.exit_status())})"

    def output_tail(self) -> str:
        """The last lines of the worker's output file, for error messages."""
        if not self.output:
            return ""
        try:
            with open(self.output, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 8192))
                lines = f.read().decode(errors="replace").splitlines()[-TAIL_LINES:]
        except OSError as exc:
            return f"\n  (its output file {self.output} cannot be read: {exc.strerror})"
        if not lines:
            return f"\n  (its output file {self.output} is empty)"
        body = "\n".join("    " + line for line in lines)
        return f"\n  last lines of {self.output}:\n{body}"
