"""The timer a worker's reader thread sleeps on (serve.py).

The main thread arms it when it leaves the link to run a task; the reader disarms it when it
rings and finds the main thread back on the link. So a stretch of work shorter than the
period wakes the reader at most once, after it: before, leaving the link woke the reader at
once only so that it could start its own timed wait, and that wait woke it again after the
main thread was back. On a crowded machine each such wake-up is a switch to a cache-cold
thread and a hand-over of the GIL (issue 9, docs/performance.md). The main thread no longer
disarms it on its way back: a run of lone round trips paid two ``timerfd_settime`` calls a
task for that, now one pair and one wake-up per period.

On Linux the kernel keeps the time (a timerfd, through ctypes: ``os.timerfd_create`` is
Python 3.13's); elsewhere a condition variable does, which wakes the sleeper at every
arming, as the reader's old nap did.
"""

from __future__ import annotations

import os
import struct
import threading
import time

_CLOCK_MONOTONIC = 1
_TFD_CLOEXEC = 0o2000000
_SPEC = struct.Struct("qqqq")  # struct itimerspec: interval (s, ns), then first expiry (s, ns)


class _TimerFd:
    """A periodic timer on a timerfd: ``wait`` blocks in ``read`` until it expires."""

    def __init__(self, libc) -> None:
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_CLOEXEC)
        if fd < 0:
            raise OSError("timerfd_create failed")
        self._fd, self._settime = fd, libc.timerfd_settime
        self._specs: dict[tuple[float, float], object] = {}  # (first, period) -> its buffer
        self._off = self._spec(0.0, 0.0)

    def _spec(self, first: float, period: float):
        import ctypes
        buf = self._specs.get((first, period))
        if buf is None:
            buf = ctypes.create_string_buffer(_SPEC.size)
            _SPEC.pack_into(buf, 0, *_split(period), *_split(first))
            self._specs[(first, period)] = buf
        return buf

    def set(self, first: float, period: float) -> None:
        """Expire after ``first`` seconds, then every ``period``; (0, 0): never."""
        buf = self._spec(first, period) if first else self._off
        if self._settime(self._fd, 0, buf, None) != 0:
            raise OSError("timerfd_settime failed")

    def wait(self) -> None:
        os.read(self._fd, 8)  # the expiries since the last read: any number is one wake-up


class _CondTimer:
    """The same without a timerfd: a deadline kept under a condition variable."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: float | None = None
        self._period = 0.0

    def set(self, first: float, period: float) -> None:
        with self._cond:
            self._due = time.monotonic() + first if first else None
            self._period = period
            self._cond.notify()

    def wait(self) -> None:
        with self._cond:
            while True:
                if self._due is None:
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left <= 0:
                    self._due = time.monotonic() + self._period if self._period else None
                    return
                self._cond.wait(left)


def _split(seconds: float) -> tuple[int, int]:
    ns = max(1, round(seconds * 1e9)) if seconds else 0  # 0 in it_value disarms
    return ns // 1_000_000_000, ns % 1_000_000_000


class Alarm:
    """Wakes one sleeping thread: ``period`` seconds after ``arm()`` and every ``period``
    after that until ``disarm()``; at once after ``ring()`` (then as if armed). Not
    thread-safe by itself: callers serialise ``arm``/``ring``/``disarm`` (serve.py holds its
    lock); ``wait`` is the sleeper's."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.armed = False
        try:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                             ctypes.c_void_p]
            self._timer: _TimerFd | _CondTimer = _TimerFd(libc)
        except (OSError, AttributeError, ImportError):
            self._timer = _CondTimer()

    def arm(self) -> None:
        if not self.armed:
            self.armed = True
            self._timer.set(self.period, self.period)

    def ring(self) -> None:
        self.armed = True
        self._timer.set(1e-9, self.period)

    def disarm(self) -> None:
        if self.armed:
            self.armed = False
            self._timer.set(0.0, 0.0)

    def wait(self) -> None:
        self._timer.wait()
