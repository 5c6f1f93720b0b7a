# Idiom program, written for netpool (not a copy of public code).
# What it does: the two forms of the non-daemonic pool recipe that set the Pool's own
# Process: the pre-3.8 class attribute `Process = NoDaemonProcess`, which Python 3.8 broke
# (Pool() fails with "AssertionError: group argument must be None for now"), and the 3.8+
# `@staticmethod def Process(ctx, *args, **kwds)`, whose tasks make pools of their own.
# Idiom as seen in: Stack Overflow "Python Process Pool non-daemonic?",
#   https://stackoverflow.com/questions/6974695 (CC BY-SA), and in many projects' copies
#   of it (a `MyPool(multiprocessing.pool.Pool)` with `Process = NoDaemonProcess`; a
#   `NoDaemonPool(multiprocessing.Pool().__class__)` with the staticmethod).
# Written anew in the recipe's idiom; no code copied.
# Changes: the demo tasks are small sums.
import multiprocessing
import multiprocessing.pool


class NoDaemonProcess(multiprocessing.Process):
    def _get_daemon(self):
        return False

    def _set_daemon(self, value):
        pass
    daemon = property(_get_daemon, _set_daemon)


class OldPool(multiprocessing.pool.Pool):
    Process = NoDaemonProcess


class NewPool(multiprocessing.pool.Pool):
    @staticmethod
    def Process(ctx, *args, **kwds):
        return NoDaemonProcess(*args, **kwds)


def square(x):
    return x * x


def inner_sum(n):
    with multiprocessing.Pool(2) as pool:
        return sum(pool.map(square, range(n)))


if __name__ == "__main__":
    with NewPool(2) as pool:
        print("nested sums:", pool.map(inner_sum, [1, 2, 3, 4]))
    try:
        OldPool(2)
    except AssertionError as exc:
        print("the pre-3.8 recipe:", type(exc).__name__, exc)
    print("and uncaught:")
    OldPool(2)
