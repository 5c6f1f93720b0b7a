# Idiom program, written for netpool (not a copy of public code).
# What it does: long tasks that poll a Manager Event passed as an argument and return
#   early once the parent sets it; then close() and join(), and the results read.
# Idiom as seen in: SuperFastPython's "Stop All Tasks in the Multiprocessing Pool in
#   Python" by Jason Brownlee, https://superfastpython.com/multiprocessing-pool-stop-all-tasks
#   (a shared event instead of terminate()).
# Written anew in the tutorial's idiom; no code copied (no licence to copy the site's code was found).
# Changes: the parent waits 0.1 s, not seconds, before setting the event. The tasks'
#   lines race each other and the parent's buffered ones.
# compat: sort-lines
from multiprocessing import Manager, Pool
from time import sleep


def task(identifier, event):
    for i in range(1000):
        if event.is_set():
            print(f'Task {identifier} stopping', flush=True)
            return identifier
        sleep(0.01)
    return -1


if __name__ == '__main__':
    with Manager() as manager:
        event = manager.Event()
        with Pool(4) as pool:
            results = [pool.apply_async(task, args=(i, event)) for i in range(4)]
            sleep(0.1)
            print('Stopping all tasks')
            event.set()
            pool.close()
            pool.join()
            print([r.get() for r in results])
