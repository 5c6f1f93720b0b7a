"""netpool.Executor against concurrent.futures.ProcessPoolExecutor, interleaved in one run.

Both with 2 local workers, each measurement on an executor made for it (start-up not timed).
Prints per workload the median time of each and the median of the per-repetition ratios
(netpool / stdlib) with its spread (min-max). A measurement, not a test.

    python bench/bench_executor.py [--repeat N]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

import netpool  # noqa: E402


def noop(x):
    return x


def nap(x):
    time.sleep(0.01)
    return x


def latency(ex):  # one submit, one result, 200 times in a row
    for i in range(200):
        ex.submit(noop, i).result()


def many_tiny(ex):  # 2000 tiny calls through map, in chunks of 50
    assert sum(ex.map(noop, range(2000), chunksize=50)) == sum(range(2000))


def many_submits(ex):  # 1000 futures at once, then wait for them all
    fs = [ex.submit(noop, i) for i in range(1000)]
    cf.wait(fs)


def naps(ex):  # 100 tasks of 10 ms: 0.5 s of work per worker
    cf.wait([ex.submit(nap, i) for i in range(100)])


WORKLOADS = [latency, many_tiny, many_submits, naps]


def make(kind):
    ex = netpool.Executor(2) if kind == "netpool" else cf.ProcessPoolExecutor(2)
    list(ex.map(noop, range(4)))  # workers up and warm
    return ex


def timed(kind, work):
    ex = make(kind)
    try:
        t = time.perf_counter()
        work(ex)
        return time.perf_counter() - t
    finally:
        ex.shutdown(wait=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'workload':14} {'netpool s':>10} {'stdlib s':>10} {'ratio':>7}  spread")
    for work in WORKLOADS:
        ours, theirs, ratios = [], [], []
        for _ in range(args.repeat):
            a, b = timed("netpool", work), timed("stdlib", work)
            ours.append(a), theirs.append(b), ratios.append(a / b)
        print(f"{work.__name__:14} {statistics.median(ours):10.3f} "
              f"{statistics.median(theirs):10.3f} {statistics.median(ratios):7.2f}  "
              f"{min(ratios):.2f}-{max(ratios):.2f}")


if __name__ == "__main__":
    main()
