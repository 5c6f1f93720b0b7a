# Idiom program, written for netpool (not a copy of public code).
# What it does: a multiprocessing.Lock handed to every worker through initializer/initargs
# and kept in a module global that the task function reads.
# Idiom as seen in: Stack Overflow "Python sharing a lock between processes",
#   https://stackoverflow.com/questions/25557686 (answers CC BY-SA); the same program as
#   Lukasz11111/pythontestapps tests/regr/test_multiprocessing_lockpool.py.
# Written anew in the answer's idiom; no code copied.
# Changes: sleeps are a tenth (0.1 - i/100 s); results printed sorted, since imap_unordered's
#   order depends on timing.
from multiprocessing import Pool, Lock
from time import sleep


def do_job(i):
    with lock:
        sleep(0.1 - (i / 100.))
        return i


def init_child(lock_):
    global lock
    lock = lock_


def main():
    lock = Lock()
    poolsize = 4
    with Pool(poolsize, initializer=init_child, initargs=(lock,)) as pool:
        results = pool.imap_unordered(do_job, range(poolsize))
        print(sorted(results))


if __name__ == "__main__":
    main()
