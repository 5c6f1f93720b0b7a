#!/usr/bin/env python
"""Python bytecodes the manager runs per tiny task, by function, with and without a journal.

    python bench/bench_bytecodes.py [-n N] [--src SRC] [--top K]

Each mode (no journal, a fresh journal) runs in a fresh process: a pool of 2 local workers
runs ``imap_unordered(inc, range(n), 1)`` (the ``tiny`` workload) while a trace function on
every thread of the manager counts the bytecodes each Python function executes
(``f_trace_opcodes``). Printed: the bytecodes per task in all, and the functions whose count
per task differs most between the two modes, with their calls per task.

A count of bytecodes names the functions, which callgrind (``bench_instructions.py``)
cannot: it sees the interpreter's C functions.
What it cannot see is the cost of each bytecode, nor the work done in C (dict probes,
``marshal``, system calls). Tracing also slows the manager about 60 times, which changes
how work is grouped: rounds and submissions carry fewer tasks than in a real run, so what is
paid per round, per submission or per commit weighs more here than it does there. A
function's count per task is exact only for work done once per task.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import collections, json, sys, threading
sys.path.insert(0, sys.argv[3])
import workloads as W
from bench_pool import wait_ready
import netpool
journal, n = sys.argv[1] or None, int(sys.argv[2])
ops, calls, on = collections.Counter(), collections.Counter(), [False]

def local(frame, event, arg):
    if on[0]:
        code = frame.f_code
        where = (code.co_filename.rsplit("/", 1)[-1], code.co_name)
        if event == "opcode":
            ops[where] += 1
        elif event == "call":
            calls[where] += 1
    return local

def first(frame, event, arg):
    frame.f_trace_opcodes = True
    return local(frame, event, arg)

sys.settrace(first)
threading.settrace(first)  # before the pool: its threads inherit it
pool = netpool.DistributedPool(2, journal=journal)
wait_ready(pool)
list(pool.imap_unordered(W.inc, range(-300, 0), 1))
on[0] = True
for _ in pool.imap_unordered(W.inc, range(n), 1):
    pass
on[0] = False
sys.settrace(None)
pool.terminate()
pool.join()
print(json.dumps([[f, c, ops[k], calls[k]] for k in set(ops) | set(calls) for f, c in [k]]))
"""


def counts(src: str, journal: str, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", CHILD, journal, str(n), HERE], env=env,
                         capture_output=True, text=True, timeout=1800, check=True).stdout
    return {(f, c): (o / n, k / n) for f, c, o, k in json.loads(out.splitlines()[-1])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=3000, help="tasks in the traced flood")
    ap.add_argument("--src", default=os.path.join(HERE, "..", "src"),
                    help="the src/ folder whose netpool to count (default: this checkout's)")
    ap.add_argument("--top", type=int, default=15, help="functions to list")
    args = ap.parse_args()
    src = os.path.abspath(args.src)
    plain = counts(src, "", args.n)
    with tempfile.TemporaryDirectory() as tmp:
        journaled = counts(src, os.path.join(tmp, "journal"), args.n)
    total_p = sum(o for o, _ in plain.values())
    total_j = sum(o for o, _ in journaled.values())
    print(f"bytecodes per task, {args.n:,} tiny tasks, {src}: no journal {total_p:,.0f}, "
          f"journal {total_j:,.0f} ({total_j - total_p:+,.0f}, {total_j / total_p - 1:+.1%})")
    none = (0.0, 0.0)
    diff = sorted(set(plain) | set(journaled),
                  key=lambda k: -abs(journaled.get(k, none)[0] - plain.get(k, none)[0]))
    print(f"{'difference':>10} {'no journal':>10} {'journal':>8}  calls per task  function")
    for k in diff[:args.top]:
        (op, cp), (oj, cj) = plain.get(k, none), journaled.get(k, none)
        print(f"{oj - op:+10.1f} {op:10.1f} {oj:8.1f}  {cp:5.2f} -> {cj:5.2f}   {k[0]}:{k[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
