#!/usr/bin/env python
"""What a journal costs: DistributedPool with and without ``journal=``, side by side in one run.

    python bench/bench_journal.py [--quick] [--repeat N] [--only tiny,short,chunked,latency,resume]

Every measurement uses a fresh pool of 2 local workers and, with the journal, a fresh journal
file (so nothing is found in it); the two pools take turns, the order flipping each
repetition. The ratio is journal/no-journal for rates and no-journal/journal for times, so
1.00 means free and less is a loss. ``resume`` is the tiny workload run a second time on the
journal the first pass filled (every result comes from it) against a fresh pool. ``short`` is
``tiny`` with tasks of about 100 us of CPU (``workloads.spin``) instead of ``x+1``: short
tasks whose run time, not the manager's, sets the pace.
See docs/journal.md for the figures and their reading.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import workloads as W  # noqa: E402
from bench_pool import DEADLINE, _drain, close_pool, wait_ready  # noqa: E402

SIZES = dict(tiny=20_000, short=10_000, chunked=200_000, latency=2_000, repeat=5)
QUICK = dict(tiny=2_000, short=1_000, chunked=20_000, latency=300, repeat=1)
SHORT_SECONDS = 100e-6  # of CPU per ``short`` task


def tiny(pool, cfg) -> float:
    _drain(pool.imap_unordered(W.inc, range(-500, 0), 1), 500, DEADLINE)  # warm-up, other keys
    n = cfg["tiny"]
    t0 = time.perf_counter()
    _drain(pool.imap_unordered(W.inc, range(n), 1), n, DEADLINE)
    return n / (time.perf_counter() - t0)


def short(pool, cfg) -> float:
    spins = cfg["spins"]
    # (iterations, a tag): the tags make every task's arguments distinct, else all but the
    # first would wait for their twin's journaled outcome.
    _drain(pool.imap_unordered(W.spin_tagged, [(spins, -i) for i in range(1, 501)], 1), 500,
           DEADLINE)
    n = cfg["short"]
    t0 = time.perf_counter()
    _drain(pool.imap_unordered(W.spin_tagged, [(spins, i) for i in range(n)], 1), n, DEADLINE)
    return n / (time.perf_counter() - t0)


def chunked(pool, cfg) -> float:
    pool.map(W.inc, range(-2000, 0))
    n = cfg["chunked"]
    t0 = time.perf_counter()
    out = pool.map(W.inc, range(n))
    assert out[-1] == n
    return n / (time.perf_counter() - t0)


def latency(pool, cfg) -> float:
    for i in range(-100, 0):
        pool.apply(W.inc, (i,))
    samples = []
    for i in range(cfg["latency"]):
        t0 = time.perf_counter_ns()
        pool.apply(W.inc, (i,))
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1e3


RATES = {"tiny": (tiny, "tasks/s"), "short": (short, "tasks/s"), "chunked": (chunked, "tasks/s"),
         "latency": (latency, "median us")}


def pool_with(journal):
    from netpool import DistributedPool
    pool = DistributedPool(2, journal=journal)
    wait_ready(pool)
    return pool


CPU: dict = {}  # (workload, journaled) -> manager CPU seconds per task, one per repetition


def measure(name: str, journal, cfg) -> float:
    """One figure; also notes the manager process's CPU time per task (all its threads).

    CPU time is the steadier figure on a shared machine: other jobs slow the wall clock
    of both pools alike, but do not add to the manager's own CPU time.
    """
    pool = pool_with(journal)
    try:
        cpu0 = time.process_time()
        value = RATES[name][0](pool, cfg)
        n = cfg[name] + (500 if name in ("tiny", "short") else 2000 if name == "chunked" else 100)
        CPU.setdefault((name, journal is not None), []).append((time.process_time() - cpu0) / n)
        return value
    finally:
        close_pool(pool)


def measure_resume(folder: str, cfg) -> tuple[float, float]:
    """(fresh pool's tiny rate, tiny rate of a pool whose journal holds every result)."""
    path = os.path.join(folder, "resume.db")
    fresh = measure("tiny", path, cfg)  # fills the journal
    return fresh, measure("tiny", path, cfg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int)
    ap.add_argument("--only", default="tiny,short,chunked,latency,resume")
    args = ap.parse_args()
    cfg = dict(QUICK if args.quick else SIZES)
    if args.repeat:
        cfg["repeat"] = args.repeat
    names = args.only.split(",")
    if "short" in names:  # before any pool, so that no pool's CPU time counts it
        cfg["spins"] = W.calibrate_spin(SHORT_SECONDS)
    print(f"# bench_journal {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}, repeat {cfg['repeat']}")
    results: dict = {n: ([], []) for n in names}
    with tempfile.TemporaryDirectory(prefix="netpool-bench-journal-") as folder:
        for rep in range(cfg["repeat"]):
            for name in names:
                if name == "resume":
                    sub = os.path.join(folder, f"r{rep}")
                    os.makedirs(sub)
                    fresh, resumed = measure_resume(sub, cfg)
                    results[name][0].append(fresh)
                    results[name][1].append(resumed)
                    continue
                runs = [(False, None), (True, os.path.join(folder, f"{name}{rep}.db"))]
                if rep % 2:
                    runs.reverse()
                got = {journaled: measure(name, path, cfg) for journaled, path in runs}
                results[name][0].append(got[False])
                results[name][1].append(got[True])
    print(f"{'workload':10} {'metric':10} {'no journal':>12} {'journal':>12} {'ratio':>7}  per-rep")
    for name in names:
        plain, journaled = results[name]
        time_like = name == "latency"
        ratios = [(p / j) if time_like else (j / p) for p, j in zip(plain, journaled)]
        mp, mj = statistics.median(plain), statistics.median(journaled)
        ratio = mp / mj if time_like else mj / mp
        metric = "tasks/s" if name == "resume" else RATES[name][1]
        label = "resumed" if name == "resume" else "journal"
        print(f"{name:10} {metric:10} {mp:12.1f} {mj:12.1f} {ratio:7.2f}  "
              f"{min(ratios):.2f}-{max(ratios):.2f}  ({label})")
    for name in names:
        plain, journaled = CPU.get((name, False)), CPU.get((name, True))
        if plain and journaled:
            mp, mj = statistics.median(plain) * 1e6, statistics.median(journaled) * 1e6
            print(f"# {name}: manager CPU per task {mp:.2f} us without, {mj:.2f} us with "
                  f"a journal (+{mj - mp:.2f} us, ratio {mp / mj:.2f})")
    print(f"# load after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
