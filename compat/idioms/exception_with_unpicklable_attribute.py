# Idiom program, written for netpool (not a copy of public code).
# What it does: a task raises an exception that holds a lock (pickle refuses it), as
# exceptions carrying a connection or a client object do; the caller prints the
# MaybeEncodingError; then a generator given as an argument; the pool still works.
# Idiom as seen in: Stack Overflow questions on "MaybeEncodingError: Error sending result"
#   with exceptions of database and HTTP client libraries (CC BY-SA).
# Written anew; no code copied.
# Changes: none.
import multiprocessing as mp
import threading


class HoldsALock(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()


def raises(x):
    raise HoldsALock(f"item {x}")


def numbers():
    yield 1


def identity(x):
    return x


if __name__ == "__main__":
    with mp.Pool(1) as pool:
        for call in (lambda: pool.apply(raises, (1,)), lambda: pool.map(raises, [2, 3]),
                     lambda: pool.apply(identity, (numbers(),))):
            try:
                call()
            except Exception as exc:
                print(type(exc).__name__, exc)
        print(pool.apply(identity, (4,)))
