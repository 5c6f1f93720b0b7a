# Idiom program, written for netpool (not a copy of public code).
# What it does: join() before close() (ValueError "Pool is still running"), every way of
#   issuing a task after close() (ValueError "Pool not running"), close() after join(),
#   terminate() after close, the pool's repr, and a `with` block on a terminated pool,
#   which ends the program (exit status 1).
# Idiom as seen in: SuperFastPython's Pool tutorials by Jason Brownlee (superfastpython.com,
#   "multiprocessing pool" series: close() versus terminate(), join(), the pool's life cycle).
# Written anew in the tutorials' idiom; no code copied (no licence to copy the site's code was found).
# Changes: none needed.
from multiprocessing import Pool


def task(x):
    return x


if __name__ == '__main__':
    pool = Pool(2)
    try:
        pool.join()
    except ValueError as e:
        print('join() before close():', repr(e))
    print(pool.apply(task, (1,)))
    pool.close()
    for call in (lambda: pool.apply(task, (1,)), lambda: pool.map(task, [1]),
                 lambda: pool.apply_async(task, (1,)), lambda: pool.imap(task, [1]),
                 lambda: pool.starmap(task, [(1,)]), lambda: pool.map_async(task, [1])):
        try:
            call()
        except ValueError as e:
            print('after close():', repr(e))
    pool.join()
    pool.close()
    pool.terminate()
    pool.join()
    print(repr(pool))
    with pool:
        pass
