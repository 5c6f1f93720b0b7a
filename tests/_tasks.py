"""Tasks for the tests: importable on workers (tests/ travels in sys.path)."""

import os
import time


class SimpleTask:
    def __init__(self, inp):
        self.inp = inp

    def __call__(self):
        return self.inp


def error_task():
    raise ValueError("Worker error")


def simple_func(*args):
    return args


def sleep_then(seconds, value, marker=None):
    """Record our pid in ``marker`` (if given), sleep, return value."""
    if marker:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
    time.sleep(seconds)
    return value


def die_once(marker, value):
    """Kill our worker the first time (marker absent), succeed the second time."""
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(9)
    return value


def always_die():
    os.kill(os.getpid(), 9)


def getpid(*_):
    return os.getpid()


def hold_gil(seconds):
    """A C call that keeps the GIL (ctypes.PyDLL does not release it)."""
    import ctypes
    ctypes.PyDLL(None).usleep(int(seconds * 1e6))
    return "held"


def slow_first_time(marker, value):
    """Block (30 s) the first time, recording our pid; return at once when rerun."""
    if os.path.exists(marker):
        return value
    return sleep_then(30, value, marker)


def pid_after(seconds):
    time.sleep(seconds)
    return os.getpid()


def rendezvous(folder, k, timeout=30.0):
    """Record our pid in ``folder`` and wait (bounded) until ``k`` distinct pids have: so
    that a test can require that k workers ran tasks at once. Returns our pid."""
    pid = os.getpid()
    open(os.path.join(folder, str(pid)), "w").close()
    deadline = time.monotonic() + timeout
    while len(os.listdir(folder)) < k and time.monotonic() < deadline:
        time.sleep(0.005)
    return pid


def inc(x):
    return x + 1


class NeedsArg(Exception):
    """Pickles as NeedsArg(message) but needs two arguments: it cannot be rebuilt."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def raise_needs_arg():
    raise NeedsArg("needs its code", 7)


def raise_from_worker_only_module(folder):
    """Raise an exception whose class lives in a module only this process can import."""
    import sys
    path = os.path.join(folder, "only_on_the_worker.py")
    with open(path, "w") as f:
        f.write("class Private(Exception):\n    pass\n")
    sys.path.insert(0, folder)
    import only_on_the_worker
    raise only_on_the_worker.Private("from a module the manager lacks")


def make_blob(n, kind="bytes"):
    """``n`` bytes of a repeating pattern, as bytes, bytearray, or a list of 4 bytes objects."""
    pattern = b"0123456789abcdef"
    if kind == "list":
        return [pattern * (n // 64) for _ in range(4)]
    data = pattern * (n // 16)
    return bytearray(data) if kind == "bytearray" else data


def blob_size(data):
    return len(data), bytes(data[:16]), type(data).__name__


def raise_with_blob(n):
    """Raise an exception carrying ``n`` bytes and a numpy array of ``n`` bytes."""
    import numpy as np
    raise ValueError(make_blob(n), np.arange(n // 8, dtype=np.float64))


def value_error_if(x, bad):
    """``x``, or ValueError when ``x`` is in ``bad`` (stats tests count the raises)."""
    if x in bad:
        raise ValueError(x)
    return x


def hog_gil_later(delay, seconds, marker):
    """Return at once, leaving a thread that holds the GIL for ``seconds`` after ``delay``
    (it creates ``marker`` just before)."""
    import threading

    def hog():
        time.sleep(delay)
        open(marker, "w").close()
        hold_gil(seconds)
    threading.Thread(target=hog, daemon=True).start()
    return os.getpid()


def fork_and_return(folder):
    """Fork; parent and child both return (a task that forgot os._exit). Child records pid."""
    pid = os.fork()
    if pid == 0:
        with open(os.path.join(folder, f"child.{os.getpid()}"), "w"):
            pass
    return os.getpid()


def setsid_sleeper(folder, seconds, marker):
    """Leave a ``sleep`` in a session of its own (recorded in ``folder``), then block."""
    import subprocess
    if os.path.exists(marker):
        return "rerun"
    child = subprocess.Popen(["sleep", str(seconds)], start_new_session=True)
    with open(os.path.join(folder, f"child.{child.pid}"), "w"):
        pass
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def fork_sleeper(folder, seconds, marker=None):
    """Leave a child that sleeps (recorded in ``folder``); then block, or return if rerun."""
    if marker and os.path.exists(marker):
        return "rerun"
    pid = os.fork()
    if pid == 0:
        try:
            with open(os.path.join(folder, f"child.{os.getpid()}"), "w"):
                pass
            time.sleep(seconds)
        finally:
            os._exit(0)
    if marker:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(seconds)
    return os.getpid()


def shout(x):
    """Print a line to stdout and one to stderr, then return ``x`` (output forwarding)."""
    import sys
    print(f"out line {x}", flush=True)
    print(f"err line {x}", file=sys.stderr)
    return x


def shout_many(n):
    """Print ``n`` numbered lines to stdout, then return ``n``."""
    for i in range(n):
        print(f"many {i}")
    return n


def link_family():
    """The address family of this worker's link to its manager (AF_UNIX, AF_INET...)."""
    from netpool.worker.main import own_links
    return int(own_links[-1].sock.family)


class SlowToPickle:
    """Pickled (by a Queue's feeder thread, after ``put`` returned) in 0.05 s, as a str."""

    def __reduce__(self):
        time.sleep(0.05)
        return (str, ("pickled slowly",))


_queue = None


def keep_queue(q):
    global _queue
    _queue = q


def put_slowly(n):
    """Put an item that the queue's feeder thread takes 0.05 s to write, and return at once."""
    _queue.put(SlowToPickle())
    return n


def zombies_of_mine():
    """This process's children that have ended and are not reaped (zombies), as pids."""
    me, found = str(os.getpid()), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] == "Z":
            found.append(pid)
    return found


def note_run(path, value):
    """Append a line to ``path`` (one per run: how often a task really ran), return value."""
    with open(path, "a") as f:
        f.write(f"{value}\n")
    return value


class Tally:
    """A callable with state: each call counts itself (what a task sees of earlier ones)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, *args):
        self.calls += 1
        return self.calls

    def bump(self, *args):
        return self(*args)


def append_to(seen, *args):
    seen.append(args)
    return len(seen)


def count_calls(*args):
    count_calls.calls = getattr(count_calls, "calls", 0) + 1
    return count_calls.calls
