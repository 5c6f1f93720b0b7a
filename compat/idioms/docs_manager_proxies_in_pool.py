# Idiom program, written for netpool (not a copy of public code).
# What it does: the multiprocessing docs' Manager example (a dict and a list proxy changed by
# another process), with the change made by a pool task instead of a Process; the manager as a
# context manager.
# Idiom as seen in: CPython Doc/library/multiprocessing.rst, section "Sharing state between processes",
#   "Server process" example (https://docs.python.org/3/library/multiprocessing.html).
#   Authors: the CPython documentation contributors. Licence: PSF / Zero-Clause BSD.
# Written anew in the source's idiom and output; no code copied.
# Changes: pool.apply(f, (d, l)) in place of Process(target=f, args=(d, l)); a
#   manager.Value and a manager.Lock are passed along too and changed under the lock.
from multiprocessing import Manager, Pool


def f(d, l, v, lock):
    d[1] = '1'
    d['2'] = 2
    d[0.25] = None
    l.reverse()
    with lock:
        v.value += 1


if __name__ == '__main__':
    with Manager() as manager:
        d = manager.dict()
        l = manager.list(range(10))
        v = manager.Value('i', 41)
        lock = manager.Lock()
        with Pool(2) as pool:
            pool.apply(f, (d, l, v, lock))
        print(d)
        print(l)
        print(v.value)
