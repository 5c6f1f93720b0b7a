# Idiom program, written for netpool (not a copy of public code).
# What it does: I/O-style work on a thread pool (`multiprocessing.pool.ThreadPool` and
# `multiprocessing.dummy.Pool`, which share the stdlib Pool's code) next to CPU work on a
# process Pool, in one script: the thread pools must stay thread pools under `netpool run`.
# Idiom as seen in: the common `from multiprocessing.pool import ThreadPool` for downloads
#   and file reads, and `from multiprocessing.dummy import Pool as ThreadPool`, used in many
#   scripts beside a process Pool.
# Written anew in that idiom; no code copied.
# Changes: none (no network: the "fetch" is a string operation).
import os
import threading
from multiprocessing import Pool
from multiprocessing.dummy import Pool as DummyPool
from multiprocessing.pool import ThreadPool

MAIN_PID = os.getpid()


def fetch(url):
    return url.upper(), os.getpid() == MAIN_PID, threading.current_thread().name != "MainThread"


def crunch(n):
    return sum(i * i for i in range(n)), os.getpid() != MAIN_PID


if __name__ == "__main__":
    urls = [f"http://example.invalid/{i}" for i in range(6)]
    with ThreadPool(3) as tp:
        print(tp.map(fetch, urls))
        print(sorted(tp.imap_unordered(len, urls)))
        print(tp.apply_async(fetch, ("x",)).get(timeout=10))
    dp = DummyPool(2)
    print(dp.starmap(pow, [(2, 5), (3, 3)]))
    dp.close()
    dp.join()
    print(type(tp).__name__, type(dp).__name__)
    with Pool(2) as pool:
        print(pool.map(crunch, [10, 100, 1000]))
