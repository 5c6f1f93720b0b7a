"""Batches of tasks an ``imap`` feeder has read: sent together, never held for long.

Submitting a batch of tasks costs about as much as submitting one (one inbox post or one
``sendmsg``), so a feeder that reads a fast input sends what it read in batches. But the
feeder cannot know whether the next ``next()`` on the input returns at once or blocks for
ever (a slow generator, or a pipeline whose input waits for the results): a batch that only
went out when full or at the input's end held the first results back until then, and a
feedback pipeline deadlocked. So every batch is sent at the latest ``HOLD_SECONDS`` after its
first task was read: by the feeder itself when it reads on past that, otherwise by one
flusher thread shared by every feeder of the process. (The feeder also sends a batch at once
when its task is the only one unfinished: nothing is then running that could share it.)

A batch whose payloads reach ``BIG_MESSAGE`` (``_protocol/messages.py``) goes out at once,
too: sharing a submission saves about a microsecond, while a big chunk held back keeps a
worker waiting for as long as the next chunks take to pickle (a 25,000-item chunk of a
``map`` is ~0.5 ms of pickling); sent at once, it is moving and running while the next one
is pickled.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Optional

from ._protocol.messages import BIG_MESSAGE

HOLD_SECONDS = 0.002  # what a read task waits at most for others to share its submission


class Batch:
    """Tasks read but not yet submitted; ``add`` and ``flush`` may be called from any thread.

    ``submit`` is called with the tasks, in the order they were added, never concurrently
    with itself (under this batch's lock), from the feeder or the flusher thread.
    """

    def __init__(self, submit: Callable[[list], None]) -> None:
        self._lock = threading.Lock()
        self._tasks: list = []
        self._due = 0.0
        self._bytes = 0  # payload bytes of the tasks held
        self._submit = submit

    def add(self, task: object, size: int = 0) -> None:
        """Hold ``task`` (``size``: its payload's bytes) to share a submission, or submit
        what is held now if that is big enough or the first task has waited long enough."""
        now = time.monotonic()
        with self._lock:
            self._tasks.append(task)
            self._bytes += size
            if self._bytes < BIG_MESSAGE:
                if len(self._tasks) == 1:
                    self._due = now + HOLD_SECONDS
                    _flusher.arm(self, self._due)
                    return
                if now < self._due:
                    return
        self.flush()  # big enough, or reading is slow: the first task has waited long enough

    def flush(self) -> None:
        with self._lock:
            tasks, self._tasks = self._tasks, []
            self._bytes = 0
            if tasks:
                self._submit(tasks)


class _Flusher:
    """One daemon thread that flushes batches still unsent when they fall due."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._due: dict = {}  # Batch -> when it must go out (monotonic seconds)
        self._thread: Optional[threading.Thread] = None

    def arm(self, batch: Batch, due: float) -> None:
        with self._cond:
            idle = not self._due
            self._due[batch] = due
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="netpool-batches",
                                                daemon=True)
                self._thread.start()
            elif idle:
                self._cond.notify()

    def _run(self) -> None:
        cond, due = self._cond, self._due
        while True:
            with cond:
                while not due:
                    cond.wait()
                batch = min(due, key=due.__getitem__)
                wait = due[batch] - time.monotonic()
                if wait > 0:
                    cond.wait(wait)
                    continue
                del due[batch]  # re-armed by its next first task; an empty flush is harmless
            batch.flush()
            del batch  # its tasks hold their results: keep no reference while we wait

    def _after_fork(self) -> None:
        self.__init__()  # the thread did not survive the fork; start afresh on first use


_flusher = _Flusher()
os.register_at_fork(after_in_child=_flusher._after_fork)


def nbytes(data: bytes, bufs: list) -> int:
    """A pickled task's size, for ``Batch.add``: its in-band bytes and out-of-band buffers."""
    return len(data) + sum(memoryview(b).nbytes for b in bufs) if bufs else len(data)
