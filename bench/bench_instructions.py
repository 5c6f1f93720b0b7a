#!/usr/bin/env python
"""Instructions the manager executes per tiny task, counted by valgrind's callgrind.

    python bench/bench_instructions.py [--src SRC] [--record | --journal | --apply] [--repeat N]
    python bench/bench_instructions.py --compare-journal [--repeat N] [--top K]

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

``--compare-journal`` prices the journal another way, steadier than the difference of two
runs' counts (which moves by several thousand instructions a task from run to run, as
valgrind's slowness regroups the manager's work into other rounds): each repetition runs
12,000 tasks without and with a fresh journal, the order flipping every repetition, and
prints the manager's total instructions a task in both, then the C functions whose count
differs most, summed over the repetitions (``callgrind_annotate``). The journal's own
work shows as functions that run only with it (``marshal``, ``crc32``), and its share of
the interpreter loop as ``_PyEval_EvalFrameDefault``'s difference. The journal's hold is
set to 0.5 s (``HOLD_SECONDS``) so that its commits are as large under valgrind's slowness
as they are outside it (``BATCH_ROWS`` outcomes).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import sys, time
sys.path[:0] = [sys.argv[3], sys.argv[4]]
import workloads as W
import netpool
if len(sys.argv) > 6:  # --compare-journal: commits as large as outside valgrind
    from netpool._runtime import journaled
    journaled.HOLD_SECONDS = float(sys.argv[6])
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


def count(mode: str, n: int, src: str, hold: str = "", functions: bool = False) -> Any:
    """Instructions of the manager process (its pid is the first in valgrind's log); with
    ``functions``, also its instructions by C function (a Counter)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p",
             sys.executable, "-c", CHILD, mode, str(n), src, HERE, f"{tmp}/journal.db",
             *([hold] if hold else [])],
            capture_output=True, text=True, timeout=1800).stderr
        pid = re.search(r"^==(\d+)==", out, re.M).group(1)
        refs = int(re.search(rf"^=={pid}== I\s+refs:\s+([\d,]+)", out, re.M).group(1)
                   .replace(",", ""))
        if not functions:
            return refs
        text = subprocess.run(["callgrind_annotate", "--threshold=100", f"{tmp}/cg.{pid}"],
                              capture_output=True, text=True, timeout=600, check=True).stdout
    by = collections.Counter()
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if m and "PROGRAM TOTALS" not in line:
            name = re.sub(r"^.*/", "", re.sub(r"\s*\[.*\]$", "", m.group(2)))
            by[name.replace("'2", "")] += int(m.group(1).replace(",", ""))
    return refs, by


def compare_journal(src: str, repeat: int, top: int, n: int = 12000) -> None:
    """``--compare-journal``: see the module's docstring."""
    totals: dict = {"plain": [], "journal": []}
    funcs = {"plain": collections.Counter(), "journal": collections.Counter()}
    for rep in range(repeat):
        for mode in (("plain", "journal") if rep % 2 == 0 else ("journal", "plain")):
            refs, by = count(mode, n, src, hold="0.5", functions=True)
            totals[mode].append(refs / n)
            funcs[mode].update(by)
        p, j = totals["plain"][-1], totals["journal"][-1]
        print(f"run {rep + 1}: {p:,.0f} instructions a task without a journal, {j:,.0f} with "
              f"one ({j - p:+,.0f}, {j / p - 1:+.1%}; start-up included)", flush=True)
    p, j = statistics.median(totals["plain"]), statistics.median(totals["journal"])
    print(f"medians: {p:,.0f} and {j:,.0f} ({j - p:+,.0f}, {j / p - 1:+.1%})")
    a, b = funcs["plain"], funcs["journal"]
    scale = n * repeat
    print(f"C functions, instructions a task: {'difference':>10} {'without':>9} {'with':>9}")
    for name in sorted(set(a) | set(b), key=lambda k: -abs(b[k] - a[k]))[:top]:
        print(f"{(b[name] - a[name]) / scale:+10,.0f} {a[name] / scale:9,.0f} "
              f"{b[name] / scale:9,.0f}  {name}")


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
    p.add_argument("--compare-journal", action="store_true",
                   help="without and with a journal, paired, by C function (see above)")
    p.add_argument("--top", type=int, default=25, help="functions listed by --compare-journal")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    if args.compare_journal:
        compare_journal(args.src, args.repeat, args.top)
        return 0
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
