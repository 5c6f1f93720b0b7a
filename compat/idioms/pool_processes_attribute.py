# Idiom program, written for netpool (not a copy of public code).
# What it does: code that reads the pool's private _processes to size its work (one
# parameter set per worker) and its score.
# Idiom as seen in: the idiom `params = [... for _ in range(pool._processes)]` and
#   `chunksize=math.ceil(len(items) / pool._processes)` found in several public GitHub
#   projects (e.g. a benchmark script computing "score" from pool._processes, and an audio
#   filterbank using it for starmap's chunksize).
# Written anew in that idiom; no code copied.
# Changes: the work is a small sum; the cost per hour is fixed instead of read from argv.
import math
import time
from multiprocessing import Pool


def fun(p):
    return round(sum(x * x for x in p), 9)


if __name__ == '__main__':
    cost_per_hour = 2.0
    pool = Pool(3)
    params = [[0.0054383338063546697, 0.015233551609548139, 0.011012782095881371, 0.012108818391510621]
              for _ in range(pool._processes)]
    t0 = time.time()
    print(pool.map(fun, params))
    t1 = time.time()
    print("score is a number:", isinstance((t1 - t0) / (pool._processes * cost_per_hour), float))
    items = list(range(10))
    print(pool.starmap(pow, [(x, 2) for x in items],
                       chunksize=math.ceil(len(items) / pool._processes)))
    print(len(pool._pool), pool._processes)
    pool.close()
    pool.join()
