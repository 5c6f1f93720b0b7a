#!/usr/bin/env python
"""Instructions the manager executes per tiny task, counted by valgrind's callgrind.

    python bench/bench_instructions.py [--src SRC] [--record | --journal | --apply] [--repeat N]

Wall-clock figures move by 3x on a shared machine; an instruction count hardly moves with
the load. The manager process (all its threads; the workers are separate processes) runs
the ``tiny`` workload of bench_pool.py (``imap_unordered(inc, range(n), 1)`` on two local
workers) for 2,000 and for 12,000 tasks under callgrind; the difference over 10,000 is the
count per task, start-up and warm-up cancelled out. ``--apply`` counts sequential
``apply_async(inc, (i,)).get()`` round trips instead (500 and 2,500 of them). ``--record`` turns the run report's
recorder on (``Runtime.record_timeline``, no page drawn), to price it
(docs/observability.md, "What recording costs"); ``--journal`` gives the pool a fresh
journal, to price it (docs/journal.md). Needs valgrind; each run takes a minute
or more.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
import workloads as W
import netpool
pool = netpool.DistributedPool(2, journal=sys.argv[5] if sys.argv[1] == "journal" else None)
while pool._rt.worker_count() < 2:
    time.sleep(0.005)
if sys.argv[1] == "record":
    pool._rt.record_timeline()
list(pool.imap_unordered(W.inc, range(200), 1))
if sys.argv[1] == "apply":  # sequential apply, the latency workload of bench_pool.py
    for i in range(int(sys.argv[2])):
        pool.apply_async(W.inc, (i,)).get(60)
else:
    for _ in pool.imap_unordered(W.inc, range(int(sys.argv[2])), 1):
        pass
pool.terminate()
pool.join()
"""


def count(mode: str, n: int, src: str) -> int:
    """Instructions of the manager process (its pid is the first in valgrind's log)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p",
             sys.executable, "-c", CHILD, mode, str(n), src, HERE, f"{tmp}/journal.db"],
            capture_output=True, text=True, timeout=1800).stderr
    pid = re.search(r"^==(\d+)==", out, re.M).group(1)
    refs = re.search(rf"^=={pid}== I\s+refs:\s+([\d,]+)", out, re.M).group(1)
    return int(refs.replace(",", ""))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", default=os.path.join(HERE, "..", "src"),
                   help="the src/ folder whose netpool to count (default: this checkout's)")
    p.add_argument("--record", action="store_true", help="with the report's recorder on")
    p.add_argument("--journal", action="store_true",
                   help="with a fresh journal (DistributedPool(journal=...)), to price it")
    p.add_argument("--apply", action="store_true",
                   help="sequential apply_async(...).get() instead (bench_pool's latency): "
                        "the manager's instructions per round trip, 500 against 2,500 calls")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    mode = ("apply" if args.apply else "record" if args.record else "journal" if args.journal
            else "plain")
    lo, hi = (500, 2500) if args.apply else (2000, 12000)
    for rep in range(args.repeat):
        small, large = count(mode, lo, args.src), count(mode, hi, args.src)
        print(f"{mode} run {rep + 1}: {(large - small) / (hi - lo):,.0f} instructions per task "
              f"({small:,} for {lo:,} tasks, {large:,} for {hi:,})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
