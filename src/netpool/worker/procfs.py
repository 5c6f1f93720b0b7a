"""What /proc tells a worker and its supervisor: who is below it, who is stopped, when a child
ends, how long a task really ran; and the prctl calls they make."""

from __future__ import annotations

import os
import time

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36


def prctl(option: int, arg: int) -> bool:
    """Linux's prctl(2) with one argument; False where it failed or does not exist."""
    try:
        import ctypes
        return ctypes.CDLL(None, use_errno=True).prctl(option, arg, 0, 0, 0) == 0
    except Exception:
        return False  # not Linux: the supervisor polls instead (getppid, kill(pid, 0))


def descendants(root: int) -> list[int]:
    """Every live process below ``root``, from ``/proc`` (children before grandchildren)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            out.append(pid)
            todo.append(pid)
    return out


def pidfd(pid: int) -> int | None:
    """A descriptor readable once ``pid`` (a child) has ended, or None (not Linux >= 5.3)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def is_stopped(pid: int) -> bool:
    """Is ``pid`` stopped (SIGSTOP, or traced)?"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"T", b"t")
    except (OSError, IndexError):
        return False


class TaskClock:
    """How long a stretch of this thread's work really ran, out of the time it took by the
    clock: on a crowded machine a thread waits milliseconds for a CPU in the middle of a
    microsecond task, and on a virtual machine the hypervisor may stop it for as long.

    ``start()`` before, ``ran(start, wall)`` after (with the wall-clock seconds it took): the
    wall time less what ``/proc/thread-self/schedstat`` counts as waiting for a CPU since
    ``start``, or, if the thread never left its CPU meanwhile (so the rest was the
    hypervisor's), its CPU time since ``start``; never less than that CPU time, never more
    than ``wall``. A ``start`` taken before other short work still serves: what that work
    waited or ran is counted too, which errs by no more than its length. Where Linux does
    not say, ``wall``. Create it on the thread it measures: the file is that thread's.
    """

    def __init__(self) -> None:
        try:
            self._fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._fd = None

    def _read(self) -> "bytes | None":
        """The file as it stands (parsed only when a task turns out long: ``_fields``)."""
        if self._fd is None:
            return None
        try:
            return os.pread(self._fd, 128, 0)
        except OSError:
            return None

    @staticmethod
    def _fields(raw: "bytes | None") -> tuple[int, int] | None:
        """(ns waited for a CPU, times put on a CPU) in a reading, or None."""
        if raw is None:
            return None
        try:
            fields = raw.split()
            return int(fields[1]), int(fields[2])
        except (IndexError, ValueError):
            return None

    def start(self) -> tuple:
        return time.thread_time(), self._read()

    def ran(self, start: tuple, wall: float) -> float:
        cpu = time.thread_time() - start[0]
        now, then = self._fields(self._read()), self._fields(start[1])
        if now is None or then is None:
            return wall
        if now[1] == then[1]:  # never off its CPU: all but its CPU time was stolen from it
            return min(cpu, wall)
        return min(max(wall - (now[0] - then[0]) * 1e-9, cpu), wall)
