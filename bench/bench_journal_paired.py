#!/usr/bin/env python
"""A journal's cost on a flood of tiny tasks, in paired rounds of fresh processes.

    python bench/bench_journal_paired.py [--rounds N] [-n N] [--src NAME=SRC ...]

Each round starts, for each source tree (``--src``, default: this checkout's ``src``), one
process with a pool of 2 local workers without a journal and one with a fresh journal; each
runs ``imap_unordered(inc, range(n), 1)`` three times and reports its best rate; one more
process does the same with ``multiprocessing.Pool(2)``. The order of the processes flips
every round. Printed: each round's ratio (journal/no journal) per tree, then the median and
quartiles of that ratio and of each netpool pool's rate against the stdlib's, the
manager process's CPU per task (user + system, over the three floods, ``getrusage``) with
and without a journal (whether a loss of rate is the journal's CPU, or time the manager
spent waiting), and its loop thread's alone (``pthread_getcpuclockid``: the journal's work
is on that thread, and the rest of the process, the thread feeding the input, runs beside
it under the same GIL). On a shared machine whose speed drifts, a ratio taken within one
round (seconds apart) is steadier than the ratio of two medians taken minutes apart
(``bench_journal.py``), and several trees compare in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = """
import os, resource, sys, threading, time
sys.path.insert(0, {here!r})
import workloads as W
from bench_pool import DEADLINE, _drain, close_pool, wait_ready
from netpool import DistributedPool
journal, n = sys.argv[1] or None, int(sys.argv[2])
if journal == "stdlib":
    import multiprocessing
    pool = multiprocessing.Pool(2)
else:
    pool = DistributedPool(2, journal=journal)
wait_ready(pool)
_drain(pool.imap_unordered(W.inc, range(-500, 0), 1), 500, DEADLINE)
best = 0.0
loop = [t for t in threading.enumerate() if t.name == "netpool-loop"]
clock = time.pthread_getcpuclockid(loop[0].ident) if loop else None
l0 = time.clock_gettime(clock) if clock is not None else 0.0
r0 = resource.getrusage(resource.RUSAGE_SELF)
for r in range(3):
    t0 = time.perf_counter()
    _drain(pool.imap_unordered(W.inc, range(r * n, (r + 1) * n), 1), n, DEADLINE)
    best = max(best, n / (time.perf_counter() - t0))
r1 = resource.getrusage(resource.RUSAGE_SELF)
l1 = time.clock_gettime(clock) if clock is not None else 0.0
close_pool(pool)
print(best, (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) / (3 * n) * 1e6,
      (l1 - l0) / (3 * n) * 1e6)
"""


def rate(src: str, journal: str, n: int) -> tuple[float, float, float]:
    """(best tasks/s, the manager's CPU us a task, its loop thread's) of one fresh process."""
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", CHILD.format(here=HERE), journal, str(n)],
                         env=env, capture_output=True, text=True, timeout=600, check=True)
    best, cpu, loop = map(float, out.stdout.split())
    return best, cpu, loop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--src", action="append", metavar="NAME=SRC",
                    help="a source tree to measure, named (default: this checkout's src)")
    args = ap.parse_args()
    trees = dict(s.split("=", 1) for s in args.src) if args.src else {
        "src": os.path.join(os.path.dirname(HERE), "src")}
    ratios: dict = {name: [] for name in trees}
    vs_stdlib: dict = {(name, j): [] for name in trees for j in (False, True)}
    cpu: dict = {(name, j): [] for name in trees for j in (False, True)}
    loop: dict = {(name, j): [] for name in trees for j in (False, True)}
    runs = [(name, journaled) for name in trees for journaled in (False, True)]
    runs.append(("stdlib", None))
    with tempfile.TemporaryDirectory(prefix="netpool-bench-paired-") as folder:
        for r in range(args.rounds):
            got = {}
            for name, journaled in (runs if r % 2 == 0 else runs[::-1]):
                if journaled is None:
                    got["stdlib"] = rate(next(iter(trees.values())), "stdlib", args.n)[0]
                    continue
                path = os.path.join(folder, f"{name}-{r}.journal") if journaled else ""
                got[(name, journaled)], used, on_loop = rate(trees[name], path, args.n)
                cpu[(name, journaled)].append(used)
                loop[(name, journaled)].append(on_loop)
            for name in trees:
                ratios[name].append(got[(name, True)] / got[(name, False)])
                for j in (False, True):
                    vs_stdlib[(name, j)].append(got[(name, j)] / got["stdlib"])
            print(f"round {r}: " + " ".join(f"{name} {ratios[name][-1]:.3f}" for name in trees),
                  flush=True)
    def spread(values: list) -> str:
        v = sorted(values)
        q = len(v) // 4
        return f"median {statistics.median(v):.3f}, quartiles {v[q]:.3f}-{v[-q - 1]:.3f}"

    for name, values in ratios.items():
        print(f"{name}: journal/no journal {spread(values)}; against multiprocessing.Pool: "
              f"no journal {spread(vs_stdlib[(name, False)])}, journal "
              f"{spread(vs_stdlib[(name, True)])}; {len(values)} rounds")
        for what, used in (("the manager's", cpu), ("its loop thread's", loop)):
            plain, journaled = used[(name, False)], used[(name, True)]
            extra = [j - p for p, j in zip(plain, journaled)]
            print(f"{name}: {what} CPU a task (us): no journal {spread(plain)}; journal "
                  f"{spread(journaled)}; the journal's extra in each round: {spread(extra)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
