# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: coverage.py 7.17.5, tests/test_concurrency.py: the program that
#   test_multiprocessing_simple builds, SQUARE_OR_CUBE_WORK (line 446) + MULTI_CODE
#   (line 461) formatted with NPROCS=3, UPTO=30 and dedented, as the test does
#   (https://github.com/nedbat/coveragepy); obtained with
#   `pip download --no-binary :all: coverage==7.17.5`.
# Author: Ned Batchelder and the coverage.py contributors.
# Licence: Apache-2.0.
# Changes: none beyond that assembly (the test runs it without a start-method argument too).

def work(x):
    # Use different lines in different subprocesses.
    if x % 2:
        y = x*x
    else:
        y = x*x*x
    return y

# Above this will be a definition of work().
import multiprocessing
import os
import time
import sys

def process_worker_main(args):
    # Need to pause, or the tasks go too quickly, and some processes
    # in the pool don't get any work, and then don't record data.
    ret = work(*args)
    time.sleep(0.1)
    return os.getpid(), ret

if __name__ == "__main__":      # pragma: no branch
    # This if is on a single line so we can get 100% coverage
    # even if we have no arguments.
    if len(sys.argv) > 1: multiprocessing.set_start_method(sys.argv[1])
    pool = multiprocessing.Pool(3)
    inputs = [(x,) for x in range(30)]
    # Hand out the inputs in pairs (one even, one odd), so every process
    # that gets any work runs the same lines of work(), and combine can
    # skip their identical data files.
    outputs = pool.imap_unordered(process_worker_main, inputs, chunksize=2)
    pids = set()
    total = 0
    for pid, sq in outputs:
        pids.add(pid)
        total += sq
    print(f"{len(pids)} pids, {total = }")
    pool.close()
    pool.join()
