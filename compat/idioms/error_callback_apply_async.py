# Idiom program, written for netpool (not a copy of public code).
# What it does: apply_async with callback and error_callback, tasks that raise, the error
# printed in the parent and get() re-raising it.
# Idiom as seen in: the multiprocessing docs' description of apply_async's error_callback
#   (https://docs.python.org/3/library/multiprocessing.html#multiprocessing.pool.Pool.apply_async,
#   PSF) in the form tutorials use: an error_callback that prints the exception, next to a
#   result callback.
# Written anew in that idiom; no code copied.
# Changes: none needed.
# compat: sort-lines
from multiprocessing import Pool


def task(identifier):
    if identifier == 3:
        raise ValueError('Something bad happened in task %d' % identifier)
    return identifier * 10


def result_callback(result):
    print(f'Callback got: {result}', flush=True)


def custom_error_callback(error):
    print(f'Got an error: {error!r}', flush=True)


if __name__ == '__main__':
    with Pool(2) as pool:
        results = [pool.apply_async(task, args=(i,), callback=result_callback,
                                    error_callback=custom_error_callback) for i in range(5)]
        for i, r in enumerate(results):
            try:
                print(i, r.get())
            except ValueError as e:
                print(i, 'raised', type(e).__name__, e)
        pool.close()
        pool.join()
