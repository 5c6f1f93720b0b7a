#!/usr/bin/env python
"""A journal's admission of tiny tasks apart from a pool: new calls against identical ones.

    python bench/bench_journal_admission.py [-n N] [--repeat R]

Admits ``n`` tasks of one function into a fresh journal, in one batch, and prints the best
of ``repeat`` rounds in microseconds a task: distinct arguments (admission's fast loop, a
first occurrence each) and identical arguments (the general path: the k-th identical call
is the k-th occurrence of its key, docs/journal.md). No processes, no worker: only the
journal's bookkeeping, as in a pool's submitting thread.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "src"))

from netpool._protocol import messages as M  # noqa: E402
from netpool._runtime import journal as J  # noqa: E402
from netpool._runtime.journaled import Journal, JournaledTasks  # noqa: E402
from netpool._runtime.tasks import Task  # noqa: E402


def work(x):
    return x


def admission(identical: bool, n: int, folder: str) -> float:
    J._program_runs.clear()  # each round is a run of its own
    jt = JournaledTasks(Journal(os.path.join(folder, f"{identical}-{time.monotonic_ns()}")))
    jt.define(1, work, "work")
    tasks = [Task(i, M.CALL, 1, pickle.dumps((7 if identical else i,)), [], None)
             for i in range(n)]
    start = time.perf_counter()
    run = jt.admit(tasks, None)
    seconds = time.perf_counter() - start
    assert len(run) == n
    for t in run:
        jt.resolved(t, M.OK, b"r", [])
    jt.close()
    return seconds / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="netpool-bench-admission-") as folder:
        for identical in (False, True):
            best = min(admission(identical, args.n, folder) for _ in range(args.repeat))
            print(f"{'identical' if identical else 'distinct'} calls: {best:.2f} us a task to "
                  f"admit ({args.n} tasks, best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
