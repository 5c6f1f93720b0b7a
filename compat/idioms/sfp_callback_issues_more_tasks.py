# Idiom program, written for netpool (not a copy of public code).
# What it does: a result callback that issues the next task with apply_async (a chain of
#   tasks, each started from the callback of the one before), the main thread waiting on a
#   threading.Event the last callback sets; then a map_async whose callback issues a
#   starmap_async, and an error_callback that issues a retry.
# Idiom as seen in: SuperFastPython's "Multiprocessing Pool Callback Functions in Python"
#   by Jason Brownlee, https://superfastpython.com/multiprocessing-pool-callback (callbacks
#   run in the parent, on the pool's result thread, and may use the pool).
# Written anew in the tutorial's idiom; no code copied (no licence to copy the site's code was found).
# Changes: none needed.
import threading
from multiprocessing import Pool


def task(n):
    return n + 1


def flaky(n):
    if n < 0:
        raise ValueError(f'negative: {n}')
    return n


done = threading.Event()
chain = []
more = []


def callback(value):
    chain.append(value)
    if value < 5:
        pool.apply_async(task, (value,), callback=callback)
    else:
        done.set()


def then(values):
    more.append(pool.starmap_async(pow, [(v, 2) for v in values]))
    done.set()


def retry(error):
    print('retrying after', repr(error), flush=True)
    more.append(pool.apply_async(flaky, (abs(int(str(error).split()[-1])),)))
    done.set()


if __name__ == '__main__':
    pool = Pool(2)
    pool.apply_async(task, (0,), callback=callback)
    print('chain done:', done.wait(30), chain)
    done.clear()
    pool.map_async(task, range(4), callback=then)
    print('map then starmap:', done.wait(30), more[0].get(30))
    done.clear()
    pool.apply_async(flaky, (-3,), error_callback=retry)
    print('retry:', done.wait(30), more[1].get(30))
    pool.close()
    pool.join()
