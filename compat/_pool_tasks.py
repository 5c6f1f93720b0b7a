"""Task functions for the differential tests, in a module of their own.

Workers of both pools import this by name (pickle sends functions by reference), so it must
stay cheap to import: no pytest, no hypothesis, no netpool.
"""

from __future__ import annotations

import os
import threading
import time


class Boom(ValueError):
    """The task's own exception type: it must come back as itself."""


def square(x: int) -> int:
    return x * x


def mul(x: int, y: int) -> int:
    return x * y


def wait_then_mul(gate: object, x: int, y: int) -> int:
    gate.wait(30)  # type: ignore[attr-defined]  # a Manager Event
    return x * y


def fragile(x: int) -> int:
    """Square, except that multiples of 7 plus 3 raise Boom."""
    if x % 7 == 3:
        raise Boom(x)
    return x * x


def raise_boom(*args: object) -> None:
    raise Boom(*args)


def slow_square(x: int, seconds: float) -> int:
    time.sleep(seconds)
    return x * x


def pid(_: object = None) -> int:
    return os.getpid()


def unpicklable_result(_: object = None) -> object:
    """A value no pickler can send (pickle and cloudpickle both refuse a lock)."""
    return threading.Lock()


def raise_unpicklable(_: object = None) -> None:
    """An exception that cannot be pickled: it holds a lock."""
    raise ValueError(threading.Lock())


def large(n: int) -> bytes:
    return b"x" * n


def raise_large(n: int) -> None:
    raise ValueError("x" * n)


def die(_: object = None) -> None:
    """Kill the worker process running this task."""
    os._exit(17)


def echo(*args: object, **kwds: object) -> tuple:
    return args, kwds


def inc_namespace(ns: object) -> None:
    """Initializer: counts its runs in a Manager Namespace proxy."""
    ns.runs += 1  # type: ignore[attr-defined]


def read_namespace(ns: object) -> int:
    return ns.runs  # type: ignore[attr-defined]


def barrier_wait(barrier: object) -> int:
    barrier.wait()  # type: ignore[attr-defined]
    return os.getpid()


def failing_initializer() -> None:
    raise RuntimeError("initializer failed")


class Counter:
    """An iterable that counts how far it has been read (not picklable: parent-side only)."""

    def __init__(self, n: int) -> None:
        self.n, self.pulled = n, 0
        self.lock = threading.Lock()

    def __iter__(self):
        for i in range(self.n):
            with self.lock:
                self.pulled += 1
            yield i


class TwoArgError(Exception):
    """Pickles (as all exceptions do) as cls(*args), but needs two arguments to be rebuilt."""

    def __init__(self, a: object, b: object) -> None:
        super().__init__(a)
        self.b = b


def raise_two_arg_error(_: object = None) -> None:
    raise TwoArgError("a", "b")


def raise_system_exit(code: int = 3) -> None:
    raise SystemExit(code)


def self_sigint(_: object = None) -> str:
    """Send this worker a SIGINT, as Ctrl-C in the terminal does to every process."""
    import signal
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)  # the signal is handled (or ignored) by now
    return "survived"


def self_sigint_caught(_: object = None) -> str:
    """A task that catches the KeyboardInterrupt of a Ctrl-C (to save its work, say)."""
    import signal
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the handler raises in here
    except KeyboardInterrupt:
        return "caught"
    return "not interrupted"


def own_pid(_: object = None) -> int:
    return os.getpid()


PARENT_STATE = "as imported"


def read_parent_state(_: object = None) -> str:
    return PARENT_STATE


def setenv(name: str, value: str) -> None:
    os.environ[name] = value


def getenv(name: str) -> "str | None":
    return os.environ.get(name)


def parent_and_grandparent(_: object = None) -> tuple:
    """This worker's parent pid, and that process's parent (from /proc)."""
    ppid = os.getppid()
    with open(f"/proc/{ppid}/stat") as f:
        grand = int(f.read().rsplit(")", 1)[1].split()[1])
    return ppid, grand
