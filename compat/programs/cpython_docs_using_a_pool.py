# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: CPython 3.11.2, Doc/library/multiprocessing.rst lines 397-437, section
#   "Using a pool of workers", https://docs.python.org/3.11/library/multiprocessing.html#using-a-pool-of-workers;
#   obtained from Debian's source package python3.11 3.11.2-6+deb12u8
#   (python3.11_3.11.2.orig.tar.gz, the CPython 3.11.2 release).
# Author: the CPython documentation authors (Python Software Foundation).
# Licence: PSF License Version 2; code examples in the Python documentation are also
#   under the Zero-Clause BSD licence (https://docs.python.org/3/license.html).
# Changes: the reST literal block's indentation removed.
# imap_unordered's order varies, and the program prints bare PIDs.
# compat: sort-lines
# compat: mask (?m)^400\n\d+$ => 400\n<PID>
# compat: mask (?m)^\[\d+(, \d+){1,3}\]$ => [<PIDs>]

from multiprocessing import Pool, TimeoutError
import time
import os

def f(x):
    return x*x

if __name__ == '__main__':
    # start 4 worker processes
    with Pool(processes=4) as pool:

        # print "[0, 1, 4,..., 81]"
        print(pool.map(f, range(10)))

        # print same numbers in arbitrary order
        for i in pool.imap_unordered(f, range(10)):
            print(i)

        # evaluate "f(20)" asynchronously
        res = pool.apply_async(f, (20,))      # runs in *only* one process
        print(res.get(timeout=1))             # prints "400"

        # evaluate "os.getpid()" asynchronously
        res = pool.apply_async(os.getpid, ()) # runs in *only* one process
        print(res.get(timeout=1))             # prints the PID of that process

        # launching multiple evaluations asynchronously *may* use more processes
        multiple_results = [pool.apply_async(os.getpid, ()) for i in range(4)]
        print([res.get(timeout=1) for res in multiple_results])

        # make a single worker sleep for 10 seconds
        res = pool.apply_async(time.sleep, (10,))
        try:
            print(res.get(timeout=1))
        except TimeoutError:
            print("We lacked patience and got a multiprocessing.TimeoutError")

        print("For the moment, the pool remains available for more work")

    # exiting the 'with'-block has stopped the pool
    print("Now the pool is closed and no longer available")
