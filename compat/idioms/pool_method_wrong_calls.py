# Idiom program, written for netpool (not a copy of public code).
# What it does: the mistakes of beginners' questions about Pool, each caught and printed:
#   Pool(0), Pool('2'), maxtasksperchild=0, initializer=5, an unknown keyword; pool.map(f)
#   without its iterable, map over an int, apply with args that are not a tuple (5, '12'),
#   kwds=None or a list of pairs, missing and extra task arguments, starmap over non-tuples,
#   map(None, ...), imap with chunksize 0, get('1'), too many positional arguments, keyword
#   arguments (func=, iterable=, args=).
# Idiom as seen in: Stack Overflow questions on multiprocessing.Pool errors (CC BY-SA) and
#   the "common errors" sections of SuperFastPython's Pool tutorials by Jason Brownlee
#   (superfastpython.com, e.g. https://superfastpython.com/multiprocessing-pool-exception-handling).
# Written anew for the survey of 6 Dec 2026; no code copied. It found two differences, both
#   fixed: `pool.map(f)` said "DistributedPool.map() missing 1 required positional
#   argument" where python says "Pool.map() ...", and `apply(f, (1,), None)` ran where the
#   stdlib's worker raises "argument after ** must be a mapping, not NoneType".
# Changes: none needed. Later: `get('1')` waits on a half-second sleep, not on `task`: a
#   result already there when `get` is called returns without looking at the timeout, under
#   python and netpool alike, and a loaded machine made that happen (a fresh-clone CI run,
#   7 Dec 2026).
import time
from multiprocessing import Pool


def task(x, y=0):
    return x + y


def attempt(label, fn):
    try:
        print(label, 'ok', fn())
    except Exception as e:
        print(label, type(e).__name__, e)


if __name__ == '__main__':
    attempt('Pool(0)', lambda: Pool(0))
    attempt('Pool(-1)', lambda: Pool(-1))
    attempt("Pool('2')", lambda: Pool('2'))
    attempt('maxtasks 0', lambda: Pool(2, maxtasksperchild=0))
    attempt('maxtasks str', lambda: Pool(2, maxtasksperchild='1'))
    attempt('initializer 5', lambda: Pool(2, initializer=5))
    attempt('bad kwarg', lambda: Pool(2, workers_count=3))
    with Pool(2) as pool:
        attempt('map missing', lambda: pool.map(task))
        attempt('map int', lambda: pool.map(task, 5))
        attempt('apply int args', lambda: pool.apply(task, 5))
        attempt('apply str args', lambda: pool.apply(task, '12'))
        attempt('apply kwds None', lambda: pool.apply(task, (1,), None))
        attempt('apply_async kwds None', lambda: pool.apply_async(task, (1,), None).get())
        attempt('apply kwds list', lambda: pool.apply(task, (1,), [('y', 2)]))
        attempt('apply no args', lambda: pool.apply(task))
        attempt('apply too many', lambda: pool.apply(task, (1, 2, 3)))
        attempt('starmap not tuples', lambda: pool.starmap(task, [1, 2]))
        attempt('starmap dicts', lambda: pool.starmap(task, [{'x': 1}]))
        attempt('map func None', lambda: pool.map(None, [1]))
        attempt('imap int', lambda: list(pool.imap(task, 5)))
        attempt('imap chunks 0', lambda: list(pool.imap(task, [1], 0)))
        attempt('map_async timeout', lambda: pool.map_async(time.sleep, [0.5]).get('1'))
        attempt('apply 3 pos', lambda: pool.apply(task, (1,), {}, None))
        attempt('imap missing', lambda: pool.imap(task))
        attempt('close arg', lambda: pool.close(True))
        attempt('map kw', lambda: pool.map(func=task, iterable=[1, 2]))
        attempt('map chunksize kw', lambda: pool.map(task, [1, 2], chunksize=1))
        attempt('apply_async kw', lambda: pool.apply_async(func=task, args=(1,)).get())
        attempt('starmap_async kw', lambda: pool.starmap_async(task, [(1, 2)], chunksize=1).get())
