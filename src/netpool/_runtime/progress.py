"""The live progress line on stderr, drawn from ``stats()`` by a thread of its own.

``progress=True`` on a pool or a manager, or ``netpool run`` with stderr on a terminal
(``"auto"``), starts one ``ProgressLine``: a thread that takes a snapshot ``REFRESH``
times a second and redraws one line in place (``\\r``, erase to the end of the line)::

    netpool: 340/1000 tasks, 2 failed, 8 running, 650 queued | workers 8 live, 2 starting | 41.3/s | ETA 0:16

Tasks are the runtime's (a chunk of ``map`` is one); the total is ``expected`` (observing.py),
``?`` while an imap reads an input of unknown length, and then there is no ETA. The rate is
over the last ``RATE_WINDOW`` seconds. The line is shown only while there is work (tasks
queued, running, or still to come) and erased when there is none, when the runtime ends,
and at exit, so that the program's own output starts on a clean line.

It gives way to the user's own bars. In ``"auto"`` mode (``netpool run``'s default) it is not
drawn at all in a program that has imported ``tqdm``: ``tqdm(pool.imap(...))`` calls
``imap`` before the bar exists, and a line drawn in between would fight the bar. With
``progress=True`` it is erased and not drawn while a ``tqdm`` bar is open. Lines forwarded from workers (output.py) and netpool's own log
records (a filter on the ``netpool`` logger, whatever handler prints them) erase it before
they print; it is redrawn at the next refresh. Off a terminal, ``"auto"`` draws nothing; ``True`` writes
a plain line every ``PLAIN_EVERY`` seconds instead (a log file gets no ``\\r``).

The thread never touches the core: one ``stats()`` call per refresh is all it costs.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Optional, Union

from . import output

REFRESH = 5.0        # redraws per second
RATE_WINDOW = 10.0   # seconds the rate is measured over
PLAIN_EVERY = 10.0   # seconds between plain lines when the stream is not a terminal

Mode = Union[bool, str, None]
DEFAULT: Mode = False  # what progress=None means: off, unless `netpool run` made it "auto"

_lines: "weakref.WeakSet[ProgressLine]" = weakref.WeakSet()


def wanted(mode: Mode, stream: Any) -> bool:
    """Whether ``mode`` (True, False, "auto", None: ``DEFAULT``) draws on ``stream``."""
    mode = DEFAULT if mode is None else mode
    if mode == "auto":
        return _isatty(stream)
    if mode not in (True, False):
        raise ValueError(f"progress must be True, False, 'auto' or None, not {mode!r}")
    return bool(mode)


def start(runtime: Any, mode: Mode, stream: Any = None) -> "Optional[ProgressLine]":
    """A running ProgressLine for ``runtime`` (its ``stats``, ``alive``, ``status_command``)
    if ``mode`` wants one on ``stream`` (default: sys.stderr), else None. On a terminal it
    first says, once, how to watch the run from another one (``netpool status``). Raises
    ``ValueError`` for a mode that is none of those."""
    stream = sys.stderr if stream is None else stream
    if not wanted(mode, stream):
        return None
    auto = (DEFAULT if mode is None else mode) == "auto"
    line = ProgressLine(runtime.stats, lambda: runtime.alive, stream, shy=auto)
    if line.tty:
        line.say(f"netpool: watch this run from another terminal: {runtime.status_command()}")
    line.start()
    return line


class Rate:
    """Tasks finished per second over the last ``window`` seconds, from snapshots."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._seen: deque = deque()  # (time, finished)

    def add(self, when: float, finished: int) -> Optional[float]:
        seen = self._seen
        seen.append((when, finished))
        while len(seen) > 2 and when - seen[1][0] >= self.window:
            seen.popleft()
        span = when - seen[0][0]
        return (finished - seen[0][1]) / span if span >= 0.5 else None


def busy(snap: dict) -> bool:
    """Whether the snapshot has work in it: queued, running, or still to come."""
    t = snap["totals"]
    expected = t.get("expected")
    return bool(t["pending"] or t["running"] or expected is None
                or expected > t["submitted"])


def format_line(snap: dict, rate: Optional[float]) -> str:
    """The progress line for one snapshot (and a rate, if known): plain text, no newline."""
    t = snap["totals"]
    finished = t["done"] + t["failed"]
    expected = t.get("expected")
    parts = [f"{finished}/{'?' if expected is None else expected} tasks"]
    if t["failed"]:
        parts.append(f"{t['failed']} failed")
    parts += [f"{t['running']} running", f"{t['pending']} queued"]
    text = "netpool: " + ", ".join(parts)
    text += f" | workers {t['workers_live']} live"
    if t["workers_starting"]:
        text += f", {t['workers_starting']} starting"
    if rate is not None:
        text += f" | {rate:.1f}/s" if rate < 100 else f" | {rate:.0f}/s"
        if expected is not None and rate > 0:
            left = max(0, expected - finished) / rate
            text += f" | ETA {_duration(left)}"
    return text


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def tqdm_loaded() -> bool:
    """True once the program has imported ``tqdm``: it draws bars of its own."""
    return "tqdm" in sys.modules


def tqdm_open() -> bool:
    """True while a ``tqdm`` bar is open in this process (its class keeps a set of them)."""
    module = sys.modules.get("tqdm.std") or sys.modules.get("tqdm")
    bars = getattr(getattr(module, "tqdm", None), "_instances", None)
    try:
        return bool(bars) and len(bars) > 0
    except TypeError:
        return False


class ProgressLine:
    """One runtime's line. ``start``, ``stop`` and ``clear``: any thread."""

    def __init__(self, stats: Callable[[], dict], alive: Callable[[], bool], stream: Any,
                 shy: bool = False) -> None:
        self._stats, self._alive, self.stream = stats, alive, stream
        # "auto" (netpool run's default) is shy: it stays off in a program that imported
        # tqdm at all. Asked for (True), it gives way only while a bar is open.
        self._yields = tqdm_loaded if shy else tqdm_open
        self.tty = _isatty(stream)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drawn = ""   # what is on the terminal now ("" nothing)
        self._plain_at: Optional[float] = None  # when the last plain line was written
        self._rate = Rate()
        self._thread = threading.Thread(target=self._run, name="netpool-progress", daemon=True)

    def start(self) -> None:
        _lines.add(self)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop refreshing and erase the line."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        self.clear()

    def say(self, text: str) -> None:
        """Print one line of text of our own (the line, if drawn, is redrawn after it)."""
        self.clear()
        with self._lock:
            self._write(text + "\n")

    def clear(self) -> None:
        with self._lock:
            if self._drawn:
                self._write("\r\x1b[K")
                self._drawn = ""

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and self._alive():
                began = time.monotonic()
                try:
                    snap = self._stats()
                except Exception:  # the runtime is ending under us: nothing more to show
                    break
                now = time.monotonic()
                self.refresh(snap, now)
                # A snapshot is O(workers) under the runtime's lock: with very many workers,
                # refresh less often, so that the line never takes more than ~5% of it.
                self._stop.wait(max(1.0 / REFRESH, 20 * (now - began)))
        finally:
            self.clear()
            _lines.discard(self)

    def refresh(self, snap: dict, now: float) -> None:
        """Draw (or erase) the line for ``snap``, taken at ``now`` (monotonic seconds)."""
        t = snap["totals"]
        rate = self._rate.add(now, t["done"] + t["failed"])
        if not busy(snap) or self._yields():
            self.clear()
            return
        text = format_line(snap, rate)
        with self._lock:
            if not self.tty:
                if self._plain_at is None or now - self._plain_at >= PLAIN_EVERY:
                    self._plain_at = now
                    self._write(text + "\n")
                return
            text = text[:max(self._width() - 1, 20)]  # never wrap: \r redraws one line
            if text != self._drawn:
                self._write("\r" + text + "\x1b[K")
                self._drawn = text

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 100
        except (AttributeError, ValueError, OSError):
            return shutil.get_terminal_size((100, 24)).columns

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def clear_all() -> None:
    """Erase every progress line (before other text is printed on the terminal, at exit)."""
    for line in list(_lines):
        line.clear()


def _stop_all() -> None:
    for line in list(_lines):
        line.stop(timeout=0.5)


class _ClearFirst(logging.Filter):
    """Erases the line before a ``netpool`` log record is printed (on the same stderr)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _lines:
            clear_all()
        return True


def _forget() -> None:
    """In a forked child (a local worker): the lines are the parent's to draw and erase."""
    for line in list(_lines):
        _lines.discard(line)


output.before_print = clear_all
logging.getLogger("netpool").addFilter(_ClearFirst())
atexit.register(_stop_all)
os.register_at_fork(after_in_child=_forget)
