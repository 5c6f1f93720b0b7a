# Idiom program, written for netpool (not a copy of public code).
# What it does: the multiprocessing docs' long Pool example, a tour of the API: apply_async,
# imap, imap_unordered, map with current_process().name, benchmarks with chunksize, errors from
# apply/map/imap/next, get(timeout) and next(timeout) polling, callbacks, pool._cache,
# pool._pool and is_alive(), close/join, terminate, and a pool dropped without close.
# Idiom as seen in: CPython Doc/includes/mp_pool.py (commit 145a0acf92a0dbbf3a08150f1b7e8014fd23b880),
#   by R Oudkerk (2006-2008). Licence: PSF.
# Written anew following the source's structure, calls and printed lines; no code copied.
# Changes: sizes shrunk (10,000 and 100,000 items, not 100,000 and 1,000,000) and sleeps cut
#   tenfold, so it runs in about a second; the "threads" command-line mode is left out; the
#   garbage-collection check waits up to 10 s for the dropped pool's workers to exit, not a
#   fixed 0.2 s (too short on a loaded machine, where it failed under python too).
# How many dots the timeout polls print depends on timing; which worker ran a task is
# nondeterministic; imap_unordered's order is too. The pool's repr differs by design
# (compat/DEVIATIONS.md, "Its own classes").
# compat: mask (?m)\.+$ =>
# compat: mask PoolWorker-\d+ => PoolWorker-N
# compat: mask pool = <.*> => pool = <POOL>
# compat: sort-lines
import multiprocessing
import random
import sys
import time


def calculate(func, args):
    result = func(*args)
    return '%s says that %s%s = %s' % (multiprocessing.current_process().name,
                                       func.__name__, args, result)


def calculatestar(args):
    return calculate(*args)


def mul(a, b):
    time.sleep(0.05 * random.random())
    return a * b


def plus(a, b):
    time.sleep(0.05 * random.random())
    return a + b


def f(x):
    return 1.0 / (x - 5.0)


def pow3(x):
    return x ** 3


def noop(x):
    pass


def expect_zero_division(what, call):
    try:
        call()
    except ZeroDivisionError:
        print('\tGot ZeroDivisionError as expected from %s' % what)
    else:
        raise AssertionError('expected ZeroDivisionError')


def test():
    print('cpu_count() = %d\n' % multiprocessing.cpu_count())
    PROCESSES = 4
    print('Creating pool with %d processes\n' % PROCESSES)
    pool = multiprocessing.Pool(PROCESSES)
    print('pool = %s' % pool)
    print()

    TASKS = [(mul, (i, 7)) for i in range(10)] + [(plus, (i, 8)) for i in range(10)]
    results = [pool.apply_async(calculate, t) for t in TASKS]
    imap_it = pool.imap(calculatestar, TASKS)
    imap_unordered_it = pool.imap_unordered(calculatestar, TASKS)

    print('Ordered results using pool.apply_async():')
    for r in results:
        print('\t', r.get())
    print()
    print('Ordered results using pool.imap():')
    for x in imap_it:
        print('\t', x)
    print()
    print('Unordered results using pool.imap_unordered():')
    for x in imap_unordered_it:
        print('\t', x)
    print()
    print('Ordered results using pool.map() --- will block till complete:')
    for x in pool.map(calculatestar, TASKS):
        print('\t', x)
    print()

    N = 10000
    print('def pow3(x): return x**3')
    t = time.time()
    A = list(map(pow3, range(N)))
    print('\tmap(pow3, range(%d)):\n\t\t%s seconds' % (N, time.time() - t))
    t = time.time()
    B = pool.map(pow3, range(N))
    print('\tpool.map(pow3, range(%d)):\n\t\t%s seconds' % (N, time.time() - t))
    t = time.time()
    C = list(pool.imap(pow3, range(N), chunksize=N // 8))
    print('\tlist(pool.imap(pow3, range(%d), chunksize=%d)):\n\t\t%s seconds'
          % (N, N // 8, time.time() - t))
    assert A == B == C, (len(A), len(B), len(C))
    print()

    L = [None] * 100000
    print('def noop(x): pass')
    print('L = [None] * 100000')
    t = time.time()
    A = list(map(noop, L))
    print('\tmap(noop, L):\n\t\t%s seconds' % (time.time() - t))
    t = time.time()
    B = pool.map(noop, L)
    print('\tpool.map(noop, L):\n\t\t%s seconds' % (time.time() - t))
    t = time.time()
    C = list(pool.imap(noop, L, chunksize=len(L) // 8))
    print('\tlist(pool.imap(noop, L, chunksize=%d)):\n\t\t%s seconds'
          % (len(L) // 8, time.time() - t))
    assert A == B == C, (len(A), len(B), len(C))
    print()
    del A, B, C, L

    print('Testing error handling:')
    expect_zero_division('pool.apply()', lambda: pool.apply(f, (5,)))
    expect_zero_division('pool.map()', lambda: pool.map(f, list(range(10))))
    expect_zero_division('list(pool.imap())', lambda: list(pool.imap(f, list(range(10)))))
    it = pool.imap(f, list(range(10)))
    for i in range(10):
        try:
            next(it)
        except ZeroDivisionError:
            if i != 5:
                raise AssertionError('unexpected ZeroDivisionError at %d' % i)
        except StopIteration:
            break
        else:
            if i == 5:
                raise AssertionError('expected ZeroDivisionError')
    assert i == 9
    print('\tGot ZeroDivisionError as expected from IMapIterator.next()')
    print()

    print('Testing ApplyResult.get() with timeout:', end=' ')
    res = pool.apply_async(calculate, TASKS[0])
    while True:
        sys.stdout.flush()
        try:
            sys.stdout.write('\n\t%s' % res.get(0.02))
            break
        except multiprocessing.TimeoutError:
            sys.stdout.write('.')
    print()
    print()

    print('Testing IMapIterator.next() with timeout:', end=' ')
    it = pool.imap(calculatestar, TASKS)
    while True:
        sys.stdout.flush()
        try:
            sys.stdout.write('\n\t%s' % it.next(0.02))
        except StopIteration:
            break
        except multiprocessing.TimeoutError:
            sys.stdout.write('.')
    print()
    print()

    print('Testing callback:')
    A = []
    B = [56, 0, 1, 8, 27, 64, 125, 216, 343, 512, 729]
    r = pool.apply_async(mul, (7, 8), callback=A.append)
    r.wait()
    r = pool.map_async(pow3, list(range(10)), callback=A.extend)
    r.wait()
    if A == B:
        print('\tcallbacks succeeded\n')
    else:
        print('\t*** callbacks failed\n\t\t%s != %s\n' % (A, B))

    assert not pool._cache, 'cache = %r' % pool._cache

    print('Testing close():')
    for worker in pool._pool:
        assert worker.is_alive()
    result = pool.apply_async(time.sleep, [0.05])
    pool.close()
    pool.join()
    assert result.get() is None
    for worker in pool._pool:
        assert not worker.is_alive()
    print('\tclose() succeeded\n')

    print('Testing terminate():')
    pool = multiprocessing.Pool(2)
    DELTA = 0.1
    pool.apply(pow3, [2])
    results = [pool.apply_async(time.sleep, [DELTA]) for i in range(100)]
    pool.terminate()
    pool.join()
    for worker in pool._pool:
        assert not worker.is_alive()
    print('\tterminate() succeeded\n')

    print('Testing garbage collection:')
    pool = multiprocessing.Pool(2)
    processes = pool._pool
    pool.apply(pow3, [2])
    results = [pool.apply_async(time.sleep, [DELTA]) for i in range(100)]
    results = pool = None
    deadline = time.monotonic() + 10
    while any(w.is_alive() for w in processes) and time.monotonic() < deadline:
        time.sleep(DELTA)
    for worker in processes:
        assert not worker.is_alive()
    print('\tgarbage collection succeeded\n')


if __name__ == '__main__':
    multiprocessing.freeze_support()
    print(' Using processes '.center(79, '-'))
    test()
