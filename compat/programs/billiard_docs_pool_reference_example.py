# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: billiard 4.3.2, Doc/library/multiprocessing.rst lines 1756-1776, the example closing "Process Pools"
#   (https://github.com/celery/billiard): billiard's own copy of an older edition of the
#   multiprocessing docs, with Python 3 prints; obtained with
#   `pip download --no-binary :all: billiard==4.3.2`.
# Author: R Oudkerk and the CPython documentation authors; kept in billiard by Ask Solem
#   and the Celery project's contributors.
# Licence: BSD-3-Clause (billiard's LICENSE.txt, "R Oudkerk and Contributors").
# Changes: the reST literal block's indentation removed.
# It ends as its comment says, on an uncaught multiprocessing.TimeoutError (exit status 1)
# while a worker still sleeps in a task; the pool is never closed.

from multiprocessing import Pool

def f(x):
    return x*x

if __name__ == '__main__':
    pool = Pool(processes=4)              # start 4 worker processes

    result = pool.apply_async(f, (10,))   # evaluate "f(10)" asynchronously
    print(result.get(timeout=1))          # prints "100" unless your computer is *very* slow

    print(pool.map(f, range(10)))         # prints "[0, 1, 4,..., 81]"

    it = pool.imap(f, range(10))
    print(next(it))                       # prints "0"
    print(next(it))                       # prints "1"
    print(it.next(timeout=1))             # prints "4" unless your computer is *very* slow

    import time
    result = pool.apply_async(time.sleep, (10,))
    print(result.get(timeout=1))          # raises TimeoutError
