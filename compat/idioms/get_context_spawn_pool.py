# Idiom program, written for netpool (not a copy of public code).
# What it does: a pool from an explicit start-method context, get_context("spawn").Pool(...)
# as a context manager, workers printing their pid with flush=True and their CPU affinity.
# Idiom as seen in: automorphis/cornifer scripts/test.py at 0834530231e2c44a78ba9151c80d380d59cd12a1
#   (GitHub, by automorphis), the docs' "Contexts and start methods" applied to a Pool.
# Written anew in that idiom; no code copied.
# Changes: the affinity is printed as a count compared with os.cpu_count().
# compat: sort-lines
from multiprocessing import get_context
from os import getpid, sched_getaffinity, cpu_count


def double(i):
    print("I'm process", getpid(), flush=True)
    print("CPU affinity covers all CPUs:", len(sched_getaffinity(0)) == cpu_count(), flush=True)
    return i * 2


if __name__ == '__main__':
    with get_context("spawn").Pool(processes=4) as pool:
        result = pool.map(double, [1, 2, 3, 4, 5])
        print(result, flush=True)
