# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: viztracer 1.1.1, tests/test_multiprocess.py, the string file_multiprocessing_overload_run (line 146), the
#   program the test writes out and runs under viztracer
#   (https://github.com/gaogaotiantian/viztracer); obtained with
#   `pip download --no-binary :all: viztracer==1.1.1`.
# Author: Tian Gao and the viztracer contributors.
# Licence: Apache-2.0.
# Changes: none.
# A Process subclass overriding run(), and no Pool: `netpool run` must leave it alone.
# It prints nothing: the exit status and the processes left running are compared.

import multiprocessing
from multiprocessing import Process
import time


class MyProcess(Process):
    def run(self):
        self.fib(5)

    def fib(self, n):
        if n < 2:
            return 1
        return self.fib(n-1) + self.fib(n-2)

if __name__ == "__main__":
    p = MyProcess()
    p.start()
    p.join()
    time.sleep(0.1)
