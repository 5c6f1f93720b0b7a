"""Task functions for bench_pool.py.

They live in an importable module, not in the benchmark script, so that every pool can find
them by name: the stdlib's *spawn* pool pickles functions by reference and its children import
this module; netpool's workers receive the manager's ``sys.path`` and import it too. Keep the
imports here light (no numpy at module level): a spawn child and a netpool worker both import
this module while their start-up is being timed.
"""

from __future__ import annotations

import time


def inc(x):
    """The trivial task: the cost of a call is all overhead."""
    return x + 1


def echo(a):
    """Send the argument straight back (the payload workload's round trip)."""
    return a


def first(a, i):
    """An element of ``a`` (the partial workload: the array travels in the callable)."""
    return float(a[i % len(a)])


def spin(n):
    """A pure-Python busy loop of ``n`` iterations; returns (CPU seconds, wall seconds).

    The CPU seconds are the work done: a task slowed down by anything competing for the core
    or the GIL (the manager, the worker's own I/O threads, other jobs on the machine) still
    reports only its work, so the lost time shows up as lower utilisation. The wall seconds
    say how long the worker was busy with the task, competition included.
    """
    w0, t0 = time.perf_counter(), time.thread_time()
    x = 0
    for i in range(n):
        x += i
    return time.thread_time() - t0, time.perf_counter() - w0


def spin_tagged(arg):
    """:func:`spin` of ``arg[0]`` iterations; ``arg[1]`` only tells the calls apart."""
    return spin(arg[0])


def calibrate_spin(seconds: float = 0.05, rounds: int = 5) -> int:
    """Iterations of :func:`spin` that take about ``seconds`` of CPU here (fastest round)."""
    n = 200_000
    while True:  # grow until one run is long enough to measure well
        used = spin(n)[0]
        if used >= 0.02:
            break
        n *= 2
    best = min(spin(n)[0] for _ in range(rounds))
    return max(1, int(n * seconds / best))
