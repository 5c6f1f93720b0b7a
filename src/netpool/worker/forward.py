"""Forwarding what tasks print to the manager (when its WELCOME asks for it).

A batch job's worker writes to a file nobody watches; the manager asks such a worker to
forward (``_runtime/observing.py`` decides which). Then ``sys.stdout`` and ``sys.stderr`` are
replaced by a ``Tee``: everything still goes to the file as before, and each complete line
is also queued and sent to the manager in an ``OUTPUT`` message, by a sender thread at most
``PERIOD`` seconds after it was written, and always before the result of the task that
printed it (``flush``, called by ``serve`` after each task).

Only what goes through ``sys.stdout``/``sys.stderr`` is forwarded (``print``, logging to
stderr, ``tqdm``); what a C extension or a subprocess writes to the descriptors goes to the
file only. A line rewritten in place with ``\r`` (a progress bar) is forwarded once, as it
stands when its newline comes, not at every redraw. A line longer than ``MAX_LINE`` characters is cut; when the manager reads slower
than tasks print, at most ``MAX_PENDING`` lines wait and later ones are counted and left out
(the file has them), so forwarding never holds a task back.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from .._protocol import messages as M

PERIOD = 0.1          # seconds a line may wait for others to share its message
MAX_LINE = 16 * 1024  # characters (shapes.MAX_LINE on the manager's side)
MAX_BATCH = 1024      # lines per OUTPUT message
MAX_PENDING = 50_000  # lines waiting to be sent at most


class Sender:
    """Queues lines and sends them on ``chan`` (thread-safe ``send``)."""

    def __init__(self, chan: Any) -> None:
        self.chan = chan
        self.cond = threading.Condition()
        self.sending = threading.Lock()
        self.pending: list[tuple[int, str]] = []
        self.dropped = 0
        threading.Thread(target=self._run, name="netpool-forward", daemon=True).start()

    def add(self, stream: int, line: str) -> None:
        with self.cond:
            if len(self.pending) >= MAX_PENDING:
                self.dropped += 1
                return
            self.pending.append((stream, line[:MAX_LINE]))
            if len(self.pending) == 1:
                self.cond.notify()

    def flush(self) -> None:
        """Send what is queued now (the main thread, before a task's result)."""
        with self.sending:  # taken and sent in one go, so two flushes keep the lines' order
            with self.cond:
                lines, self.pending = self.pending, []
                if self.dropped:
                    lines.append((2, f"[netpool: {self.dropped} lines not forwarded, too "
                                     "many at once; see the worker's output file]"))
                    self.dropped = 0
            for i in range(0, len(lines), MAX_BATCH):
                try:
                    self.chan.send((M.OUTPUT, lines[i:i + MAX_BATCH]))
                except OSError:
                    return  # the manager is gone; the worker notices on its own link

    def _run(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.pending)
                self.cond.wait(PERIOD)  # let a burst of lines share one message
            self.flush()


class Tee:
    """A text stream that writes through to ``target`` and hands complete lines to ``sender``."""

    def __init__(self, target: Any, stream: int, sender: Sender) -> None:
        self._target, self._stream, self._sender = target, stream, sender
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        n = self._target.write(text)
        with self._lock:
            text = self._partial + text
            *lines, partial = text.split("\n")
            # A line rewritten in place (a progress bar's "\r") goes once, as it ends.
            self._partial = partial.rpartition("\r")[2]
            if len(self._partial) > MAX_LINE:  # no newline for a long while: send it as is
                lines.append(self._partial)
                self._partial = ""
        for line in lines:
            line = line.rstrip("\r").rpartition("\r")[2]
            self._sender.add(self._stream, line)
        return n

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, encoding, isatty, buffer...
        return getattr(self._target, name)


current: "Sender | None" = None  # this process's, once installed


def install(chan: Any) -> Sender:
    """Forward from now on what this process writes through sys.stdout and sys.stderr."""
    global current
    current = Sender(chan)
    sys.stdout = Tee(sys.stdout, 1, current)  # type: ignore[assignment]
    sys.stderr = Tee(sys.stderr, 2, current)  # type: ignore[assignment]
    return current


def flush() -> None:
    """Send the lines queued so far, if forwarding (after a task, before its result)."""
    if current is not None:
        current.flush()
