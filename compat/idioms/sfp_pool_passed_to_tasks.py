# Idiom program, written for netpool (not a copy of public code).
# What it does: passes the pool itself to its own tasks, which the stdlib refuses
#   ("NotImplementedError: pool objects cannot be passed between processes or pickled"),
#   and pickles it directly; then the fix: a Pool hosted in a custom BaseManager
#   (`CustomManager.register('Pool', Pool)`), whose proxy the tasks use to run tasks of
#   their own; ends on the uncaught error (exit status 1).
# Idiom as seen in: SuperFastPython's Pool tutorials by Jason Brownlee (superfastpython.com,
#   "multiprocessing pool" series: sharing the pool with its workers, issuing tasks from
#   tasks through a manager-hosted pool).
# Written anew in the tutorials' idiom; no code copied (no licence to copy the site's code was found).
# Changes: none needed. Which worker of the hosted pool runs each inner task varies, and
#   the tasks' lines race.
# compat: mask ForkPoolWorker-\d+ => ForkPoolWorker-N
# compat: sort-lines
import pickle
from multiprocessing import current_process
from multiprocessing.managers import BaseManager
from multiprocessing.pool import Pool


class CustomManager(BaseManager):
    pass


def inner(x):
    return x * 10


def task(identifier, pool):
    value = pool.apply(inner, (identifier,))
    print(f'Task {identifier} got {value} in {current_process().name}', flush=True)
    return value


if __name__ == '__main__':
    with Pool(2) as pool:
        r = pool.apply_async(task, (1, pool))
        try:
            print(r.get())
        except Exception as e:
            print(f'Failed: {type(e).__name__}: {e}')
        try:
            pickle.dumps(pool)
        except Exception as e:
            print(f'pickle: {type(e).__name__}: {e}')
    CustomManager.register('Pool', Pool)
    with CustomManager() as manager:
        hosted = manager.Pool(2)
        with Pool(2) as pool:
            results = [pool.apply_async(task, (i, hosted)) for i in range(4)]
            print([r.get() for r in results])
        print(hosted.map(inner, range(3)))
        with Pool(1) as pool:
            pool.apply(task, (0, pool))
