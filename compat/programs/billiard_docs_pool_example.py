# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: billiard 4.3.2, Doc/library/multiprocessing.rst lines 278-287, section "Using a pool of workers"
#   (https://github.com/celery/billiard): billiard's own copy of an older edition of the
#   multiprocessing docs, with Python 3 prints; obtained with
#   `pip download --no-binary :all: billiard==4.3.2`.
# Author: R Oudkerk and the CPython documentation authors; kept in billiard by Ask Solem
#   and the Celery project's contributors.
# Licence: BSD-3-Clause (billiard's LICENSE.txt, "R Oudkerk and Contributors").
# Changes: the reST literal block's indentation removed.
# The pool is never closed: the program ends with its workers still running.

from multiprocessing import Pool

def f(x):
    return x*x

if __name__ == '__main__':
    pool = Pool(processes=4)               # start 4 worker processes
    result = pool.apply_async(f, [10])     # evaluate "f(10)" asynchronously
    print(result.get(timeout=1))           # prints "100" unless your computer is *very* slow
    print(pool.map(f, range(10)))          # prints "[0, 1, 4,..., 81]"
