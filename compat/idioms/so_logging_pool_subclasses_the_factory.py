# Idiom program, written for netpool (not a copy of public code).
# What it does: the Python 2 "LoggingPool" recipe, which subclasses the name
# `multiprocessing.Pool` (`from multiprocessing import Pool; class LoggingPool(Pool)`): in
# Python 3 that name is a bound method of the default context, so the class statement
# fails with "TypeError: method expected 2 arguments, got 3"; then the recipe's form that
# subclasses multiprocessing.pool.Pool, which works, with multiprocessing's logger on.
# Idiom as seen in: Stack Overflow "Exception thrown in multiprocessing Pool not detected",
#   https://stackoverflow.com/questions/6728236 (CC BY-SA), and its copies in projects
#   (cfe-lab/Umberjack pool_traceback.py and others, `from multiprocessing.pool import Pool`).
# Written anew in the recipe's idiom; no code copied.
# Changes: none beyond the demo.
import multiprocessing
import multiprocessing.pool
import traceback
from multiprocessing import Pool

print(type(Pool).__name__, Pool)


class Reporting:
    def __init__(self, func):
        self.func = func

    def __call__(self, *args):
        try:
            return self.func(*args)
        except Exception:
            multiprocessing.get_logger().error(traceback.format_exc())
            raise


class LoggingPool(multiprocessing.pool.Pool):
    def apply_async(self, func, args=(), kwds={}, callback=None):
        return multiprocessing.pool.Pool.apply_async(self, Reporting(func), args, kwds,
                                                     callback)


def fails():
    raise ValueError("logged by the worker")


if __name__ == "__main__":
    multiprocessing.log_to_stderr()
    pool = LoggingPool(processes=1)
    result = pool.apply_async(fails)
    pool.close()
    pool.join()
    print("successful:", result.successful())

    class OldLoggingPool(Pool):
        pass
