# Idiom program, written for netpool (not a copy of public code).
# What it does: AsyncResult.get(timeout=...) giving up on a slow task (the TimeoutError's
#   class and repr printed), successful() before the task is done (ValueError), then
#   get() and successful(); map_async(...).get(timeout) and imap(...).next(timeout) timing
#   out; ends on an uncaught TimeoutError while a task still runs (exit status 1).
# Idiom as seen in: SuperFastPython's Pool tutorials by Jason Brownlee (superfastpython.com,
#   "multiprocessing pool" series: AsyncResult, get() with a timeout, waiting for results).
# Written anew in the tutorials' idiom; no code copied (no licence to copy the site's code was found).
# Changes: none needed.
from multiprocessing import Pool, TimeoutError
from time import sleep


def task(x):
    sleep(x)
    return x


if __name__ == '__main__':
    with Pool(2) as pool:
        result = pool.apply_async(task, (1.0,))
        try:
            result.get(timeout=0.1)
        except TimeoutError as e:
            print('Gave up waiting', type(e), repr(e), result.ready())
        try:
            result.successful()
        except ValueError as e:
            print('successful():', e)
        print(result.get())
        print(result.successful())
        mr = pool.map_async(task, [0.5, 0.01])
        try:
            mr.get(0.05)
        except Exception as e:
            print(type(e).__module__, type(e).__qualname__, e.args)
        it = pool.imap(task, [0.5, 0.01])
        try:
            it.next(timeout=0.05)
        except Exception as e:
            print(type(e).__module__, type(e).__qualname__, e.args)
        print(list(it))
        result = pool.apply_async(task, (3,))
        result.get(timeout=0.1)
