# Idiom program, written for netpool (not a copy of public code).
# What it does: the "Using a pool of workers" example of the multiprocessing docs: map,
# imap_unordered, apply_async(os.getpid), get(timeout) raising TimeoutError, with-block exit.
# Idiom as seen in: CPython Doc/library/multiprocessing.rst, section "Using a pool of workers"
#   https://docs.python.org/3/library/multiprocessing.html#using-a-pool-of-workers
#   Authors: the CPython documentation contributors. Licence: PSF / Zero-Clause BSD (doc examples).
# Written anew in the source's idiom (same calls, same printed lines); no code copied.
# Changes: the task that outlasts its timeout sleeps 2 s, not 10, and get() waits 0.3 s,
#   not 1, so the program is quick; the gets that should succeed wait up to 10 s, not 1 (on
#   a loaded machine a fresh pool can take longer than 1 s to answer, under python too).
# compat: sort-lines
# compat: mask (?m)^400\n\d+$ => 400\n<PID>
# compat: mask (?m)^\[\d+(, \d+){1,3}\]$ => [<PIDs>]
from multiprocessing import Pool, TimeoutError
import time
import os


def f(x):
    return x * x


if __name__ == '__main__':
    with Pool(processes=4) as pool:
        print(pool.map(f, range(10)))

        for i in pool.imap_unordered(f, range(10)):
            print(i)

        res = pool.apply_async(f, (20,))
        print(res.get(timeout=10))

        res = pool.apply_async(os.getpid, ())
        print(res.get(timeout=10))

        multiple_results = [pool.apply_async(os.getpid, ()) for i in range(4)]
        print([res.get(timeout=10) for res in multiple_results])

        res = pool.apply_async(time.sleep, (2,))
        try:
            print(res.get(timeout=0.3))
        except TimeoutError:
            print("We lacked patience and got a multiprocessing.TimeoutError")

        print("For the moment, the pool remains available for more work")

    print("Now the pool is closed and no longer available")
