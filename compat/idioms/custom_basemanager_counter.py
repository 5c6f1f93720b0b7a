# Idiom program, written for netpool (not a copy of public code).
# What it does: a custom BaseManager subclass serving a Counter class registered in the
# script; its proxy is passed to sequential pool.apply calls, which print the count, the task
# number and current_process().name.
# Idiom as seen in: jcnaud/snippet languages/python3/multiprocessing/manager/custom_shared_object.py
#   (GitHub, by jcnaud).
# Written anew in the source's idiom; no code copied.
# Changes: pool of 2 (not cpu_count()); the manager is shut down at the end; the task's print
#   flushes, so the lines come out in call order rather than in per-worker blocks at exit.
# Which worker runs which apply is up to the pool: the worker numbers are masked.
# compat: mask PoolWorker-\d+ => PoolWorker-N
import multiprocessing
from multiprocessing.managers import BaseManager


class MyManager(BaseManager):
    pass


def Manager():
    m = MyManager()
    m.start()
    return m


class Counter(object):
    def __init__(self):
        self._value = 0

    def update(self, value):
        self._value += value

    def get_value(self):
        return self._value


MyManager.register('Counter', Counter)


def update(counter_proxy, thread_id):
    counter_proxy.update(1)
    print(counter_proxy.get_value(), 't%s' % thread_id,
          multiprocessing.current_process().name, flush=True)
    return counter_proxy


def main():
    manager = Manager()
    counter = manager.Counter()
    pool = multiprocessing.Pool(2)
    for i in range(10):
        pool.apply(func=update, args=(counter, i))
    pool.close()
    pool.join()
    print('Should be 10 but is %s.' % counter.get_value())
    manager.shutdown()


if __name__ == '__main__':
    main()
