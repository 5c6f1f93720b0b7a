# Idiom program, written for netpool (not a copy of public code).
# What it does: reads a pool's arguments back from its private attributes: the worker count
# (`pool._processes`) to size chunks and to log, `pool._maxtasksperchild`, `pool._initargs`
# and the pool's context `pool._ctx`, and the state constants.
# Idiom as seen in: GitHub code that logs `f"pool size {pool._processes} / {cpu_count()}"`
#   or computes `chunksize=math.ceil(len(items) / pool._processes)` (several repositories
#   found by searching for `pool._processes`), and wrappers that rebuild a pool with the
#   same `_initializer`/`_initargs`.
# Written anew in this idiom; no code copied.
# Changes: none (written for this corpus).
import math
import multiprocessing
import multiprocessing.pool


def setup(tag):
    global TAG
    TAG = tag


def tagged(x):
    return f"{TAG}{x}"


if __name__ == "__main__":
    items = list(range(10))
    pool = multiprocessing.Pool(3, initializer=setup, initargs=("item-",), maxtasksperchild=4)
    print(f"pool size {pool._processes}, maxtasksperchild {pool._maxtasksperchild}")
    print(pool.map(tagged, items, chunksize=math.ceil(len(items) / pool._processes)))
    print(pool._initializer.__name__, pool._initargs, pool._ctx.get_start_method())
    print(pool._state == multiprocessing.pool.RUN)
    again = multiprocessing.Pool(2, pool._initializer, pool._initargs)
    print(again.apply(tagged, (42,)))
    for p in (pool, again):
        p.close()
        p.join()
    print(pool._state == multiprocessing.pool.CLOSE)
    with multiprocessing.get_context("spawn").Pool(1) as spawned:
        print(spawned._ctx.get_start_method(), spawned._initargs, spawned._maxtasksperchild)
