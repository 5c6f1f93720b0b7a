# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: viztracer 1.1.1, tests/test_multiprocess.py, the string file_pool (line 195), the program the test writes
#   out and runs under viztracer (https://github.com/gaogaotiantian/viztracer); obtained with
#   `pip download --no-binary :all: viztracer==1.1.1`.
# Author: Tian Gao and the viztracer contributors.
# Licence: Apache-2.0.
# Changes: the string's leading newline dropped.
#
# imap_unordered's order varies, and the program prints bare PIDs.
# compat: sort-lines
# compat: mask (?m)^400\n\d+$ => 400\n<PID>
# compat: mask (?m)^\[\d+(, \d+){1,3}\]$ => [<PIDs>]

import gc
from multiprocessing import Process, Pool
import os
import time

def f(x):
    return x*x

if __name__ == "__main__":
    process_num = 2
    # gc seems to cause SegFault with multithreading
    # Pool creates a couple of thread and it's failing the test
    # https://github.com/python/cpython/issues/101975

    gc.disable()
    with Pool(processes=process_num) as pool:
        print(pool.map(f, range(10)))

        for i in pool.imap_unordered(f, range(10)):
            print(i)

        res = pool.apply_async(f, (20,))      # runs in *only* one process
        print(res.get(timeout=1))             # prints "400"

        res = pool.apply_async(os.getpid, ()) # runs in *only* one process
        print(res.get(timeout=1))             # prints the PID of that process

        multiple_results = [pool.apply_async(os.getpid, ()) for i in range(process_num)]
        print([res.get(timeout=1) for res in multiple_results])
    gc.enable()
