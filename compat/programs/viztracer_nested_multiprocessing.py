# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: viztracer 1.1.1, tests/test_multiprocess.py, the string file_nested_multiprocessing (line 119), the
#   program the test writes out and runs under viztracer
#   (https://github.com/gaogaotiantian/viztracer); obtained with
#   `pip download --no-binary :all: viztracer==1.1.1`.
# Author: Tian Gao and the viztracer contributors.
# Licence: Apache-2.0.
# Changes: none.
# A Process that starts a Process, and no Pool: `netpool run` must leave it alone.
# It prints nothing: the exit status and the processes left running are compared.

import multiprocessing
from multiprocessing import Process
import time


def fib(n):
    if n < 2:
        return 1
    return fib(n-1) + fib(n-2)

def f():
    fib(5)

def spawn():
    p = Process(target=f)
    p.start()
    p.join()

if __name__ == "__main__":
    fib(2)
    p = Process(target=spawn)
    p.start()
    p.join()
    time.sleep(0.1)
