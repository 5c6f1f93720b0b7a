"""Lines that workers' tasks printed, shown on the manager's own stdout and stderr.

A worker whose output would otherwise end in a file (a batch job's output, ``output=``), or
that joined by itself, is told in its WELCOME to forward what its tasks print
(``worker/forward.py``); its OUTPUT messages land here, each line prefixed with the worker
(``[worker 3 node12] ...``), as Ray's ``log_to_driver`` does. The lines go to stdout or
stderr as they were written on the worker.

The loop thread only queues them (``show``); one printer thread per process writes them, so
a terminal that blocks (a paused ``less``, Ctrl-S) never stalls the loop. The queue is
bounded: past ``MAX_QUEUED`` lines waiting, new ones are counted and dropped, and a line
says how many (the worker's output file, where there is one, still has them all).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections import deque
from typing import Callable, Optional

MAX_QUEUED = 100_000  # lines waiting for the printer at most

_lock = threading.Condition()
_queue: deque = deque()
_dropped = 0
_thread: Optional[threading.Thread] = None
_busy = False
before_print: Optional[Callable[[], None]] = None  # progress.py clears its line here


def show(prefix: str, lines: list[tuple[int, str]]) -> None:
    """Queue ``lines`` ((1 for stdout or 2 for stderr, text)) of the worker ``prefix``; any
    thread, never blocks."""
    global _dropped, _thread
    with _lock:
        room = MAX_QUEUED - len(_queue)
        if room < len(lines):
            _dropped += len(lines) - max(room, 0)
            lines = lines[:max(room, 0)]
        _queue.extend((prefix, stream, text) for stream, text in lines)
        if _thread is None:
            _thread = threading.Thread(target=_print_forever, name="netpool-output",
                                       daemon=True)
            _thread.start()
        _lock.notify()


def drain(timeout: float = 2.0) -> bool:
    """Wait until every queued line is written (at most ``timeout`` seconds); True if so."""
    with _lock:
        return _lock.wait_for(lambda: not _queue and not _busy, timeout)


def _print_forever() -> None:
    global _dropped, _busy
    while True:
        with _lock:
            _lock.wait_for(lambda: _queue)
            batch = list(_queue)
            _queue.clear()
            dropped, _dropped = _dropped, 0
            _busy = True
        try:
            _write(batch, dropped)
        finally:
            with _lock:
                _busy = False
                _lock.notify_all()


def _write(batch: list, dropped: int) -> None:
    if before_print is not None:
        before_print()
    runs: list[tuple[int, list[str]]] = []  # consecutive lines of one stream, in order
    for prefix, stream, text in batch:
        if not runs or runs[-1][0] != stream:
            runs.append((stream, []))
        runs[-1][1].append(f"[{prefix}] {text}\n")
    if dropped:
        runs.append((2, [f"[netpool] {dropped} lines that workers printed were not shown "
                         "(too many at once); their output files have them\n"]))
    for stream, lines in runs:
        target = sys.stdout if stream == 1 else sys.stderr
        try:
            target.write("".join(lines))
            target.flush()
        except (OSError, ValueError, AttributeError):
            pass  # closed or gone: there is nowhere to show them


def _forget() -> None:
    """In a forked child: the printer thread is the parent's; start afresh."""
    global _thread, _busy, _dropped
    _queue.clear()
    _thread, _busy, _dropped = None, False, 0


atexit.register(drain)
os.register_at_fork(after_in_child=_forget)
