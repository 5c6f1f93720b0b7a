# Idiom program, written for netpool (not a copy of public code).
# What it does: passes a multiprocessing Queue, Value and Lock to pool tasks as arguments
#   (apply_async, map, apply, an error_callback), which the stdlib refuses with
#   "RuntimeError: ... objects should only be shared between processes through inheritance";
#   prints each error, then ends on the uncaught one (exit status 1).
# Idiom as seen in: SuperFastPython's Pool tutorials by Jason Brownlee (superfastpython.com,
#   "multiprocessing pool" series: sharing a queue, a value or a lock with the pool's
#   workers, first the error, then the fix with a Manager or an initializer).
# Written anew in the tutorials' idiom; no code copied (no licence to copy the site's code was found).
# Changes: none needed.
from multiprocessing import Lock, Pool, Queue, Value


def put(identifier, queue):
    queue.put(identifier)


def increment(value):
    with value.get_lock():
        value.value += 1


def report(error):
    print('error callback:', type(error).__name__, error, flush=True)


if __name__ == '__main__':
    queue = Queue()
    value = Value('i', 0)
    with Pool(2) as pool:
        result = pool.apply_async(put, args=(0, queue))
        try:
            result.get()
        except Exception as e:
            print(f'Failed: {type(e).__name__}: {e}')
        results = [pool.apply_async(put, args=(i, queue), error_callback=report)
                   for i in range(3)]
        for r in results:
            r.wait()
        print('successful:', [r.successful() for r in results])
        try:
            pool.map(increment, [value] * 4)
        except Exception as e:
            print(f'map failed: {type(e).__name__}: {e}')
        r = pool.apply_async(print, (Lock(),), error_callback=report)
        r.wait()
        print('value:', value.value)
        pool.apply(increment, (value,))
