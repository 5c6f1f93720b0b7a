#!/usr/bin/env python
"""What one journal commit costs, in a pool and apart from one, hot and cold.

    python bench/bench_journal_commit.py [--runs N] [--tasks N]

In a pool (2 local workers, ``--tasks`` tiny ``imap_unordered`` tasks, a fresh journal),
``Journal.flush`` is replaced by a copy that times each commit's phases: building the row
and the ``INSERT``, wall clock and the loop thread's CPU, then the same build and the same
``INSERT`` again at once (a duplicate row: this is a throwaway journal), which finds the
caches warm. Apart from a pool, the ``INSERT`` of a 180-outcome row back to back, and after
the caches were dirtied as a busy loop dirties them between its commits (8 MiB written,
2,000 dict entries made), through ``Connection.execute`` and through a kept cursor.
Wall time equal to CPU time means the thread did not wait (for the GIL or anything else);
first-time CPU far above again-at-once CPU means cold caches. docs/journal.md, "Why a
commit costs more in a pool", has the figures and their reading.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
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

SQL = "INSERT INTO batches(run, at, idx, data, counts, crc) VALUES (?,?,?,?,?,?)"
_junk = [bytearray(1 << 20) for _ in range(8)]
_scratch: dict = {}


def dirty() -> None:
    """What a busy loop does to the caches between two commits, roughly."""
    for b in _junk:
        b[::64] = bytes(len(b[::64]))
    _scratch.clear()
    for i in range(2000):
        _scratch[hashlib.blake2b(i.to_bytes(8, "little"), digest_size=16).digest()] = [i]


def in_pool(tasks: int) -> dict:
    from netpool import DistributedPool
    from netpool._runtime import journal as J
    from netpool._runtime import journalformat as F
    rows: list = []
    wall, cpu = time.perf_counter_ns, time.thread_time_ns

    def flush(self) -> None:  # Journal.flush, timed, and done twice
        batch = self.batch
        if not batch.outcomes or self.broken:
            return
        w0, c0 = wall(), cpu()
        idx, data, counts, crc = F.pack(batch.outcomes)
        w1, c1 = wall(), cpu()
        bid = self._db.execute(SQL, (self.run, time.time(), idx, data, counts, crc)).lastrowid
        w2, c2 = wall(), cpu()
        F.pack(batch.outcomes)
        c3 = cpu()
        self._db.execute(SQL, (self.run, time.time(), idx, data, counts, crc))
        c4 = cpu()
        rows.append((len(batch.outcomes), w1 - w0, c1 - c0, w2 - w1, c2 - c1, c3 - c2, c4 - c3))
        batch.id = bid
        batch.outcomes = None
        self._clear_pending()

    real = J.Journal.flush
    J.Journal.flush = flush
    try:
        with tempfile.TemporaryDirectory(prefix="netpool-bench-commit-") as folder:
            pool = DistributedPool(2, journal=os.path.join(folder, "j.db"))
            try:
                wait_ready(pool)
                _drain(pool.imap_unordered(W.inc, range(-500, 0), 1), 500, DEADLINE)
                rows.clear()
                t0 = time.perf_counter()
                _drain(pool.imap_unordered(W.inc, range(tasks), 1), tasks, DEADLINE)
                rate = tasks / (time.perf_counter() - t0)
            finally:
                close_pool(pool)
    finally:
        J.Journal.flush = real
    med = [statistics.median(r[i] for r in rows) for i in range(7)]
    return dict(rate=rate, commits=len(rows), outcomes=med[0], build_wall=med[1] / 1e3,
                build_cpu=med[2] / 1e3, insert_wall=med[3] / 1e3, insert_cpu=med[4] / 1e3,
                build_again=med[5] / 1e3, insert_again=med[6] / 1e3)


def apart(commits: int = 150) -> dict:
    from netpool._runtime.journal import Journal
    cpu = time.thread_time_ns
    out: dict = {"hot": [], "cold": [], "cold, kept cursor": []}
    with tempfile.TemporaryDirectory(prefix="netpool-bench-commit-") as folder:
        j = Journal(os.path.join(folder, "j.db"))
        db, cur = j._db, j._db.cursor()
        idx, data = os.urandom(180 * 25), b"\x80\x05K\x07." * 180
        for _ in range(commits):
            dirty()
            c0 = cpu()
            db.execute(SQL, (j.run, time.time(), idx, data, "[]", 0)).lastrowid
            c1 = cpu()
            db.execute(SQL, (j.run, time.time(), idx, data, "[]", 0)).lastrowid
            c2 = cpu()
            dirty()
            c3 = cpu()
            cur.execute(SQL, (j.run, time.time(), idx, data, "[]", 0)).lastrowid
            c4 = cpu()
            out["cold"].append(c1 - c0)
            out["hot"].append(c2 - c1)
            out["cold, kept cursor"].append(c4 - c3)
        cur.close()
        j.close()
    return {k: statistics.median(v) / 1e3 for k, v in out.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tasks", type=int, default=20_000)
    args = ap.parse_args()
    print(f"# bench_journal_commit {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M}"
          f" UTC, python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    print("# in a pool: medians of each run's commits, us (CPU: the loop thread's)")
    for _ in range(args.runs):
        r = in_pool(args.tasks)
        print(f"{r['rate']:8.0f} tasks/s, {r['commits']} commits of {r['outcomes']:.0f}: "
              f"build {r['build_wall']:.1f} wall {r['build_cpu']:.1f} CPU (again at once "
              f"{r['build_again']:.1f}); INSERT {r['insert_wall']:.1f} wall "
              f"{r['insert_cpu']:.1f} CPU (again at once {r['insert_again']:.1f})")
    print("# apart: CPU of an INSERT of a 180-outcome row, us, median of 150")
    for _ in range(args.runs):
        print("  " + ", ".join(f"{k} {v:.1f}" for k, v in apart().items()))
    print(f"# load after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
