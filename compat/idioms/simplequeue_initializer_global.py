# Idiom program, written for netpool (not a copy of public code).
# What it does: a multiprocessing.SimpleQueue shared with the workers through the
# initializer (a global declared there); tasks report through it; the parent reads
# as results become available while map_async runs.
# Idiom as seen in: SuperFastPython.com (Jason Brownlee), "example of sharing a global variable among all
#   workers", as reproduced in mojebabicka/ar_pong mp_example.py (GitHub).
# Written anew in the source's idiom; no code copied.
# Changes: each task sleeps identifier/100 s instead of a random 0-5 s and reports that value;
#   the lines read are compared sorted (arrival order depends on timing).
# compat: sort-lines
from time import sleep
from multiprocessing import SimpleQueue
from multiprocessing.pool import Pool


def init_worker(shared_queue):
    # declare scope of a new global variable
    global queue
    # store argument in the global variable for this process
    queue = shared_queue


def task(identifier):
    value = identifier / 100
    sleep(value)
    global queue
    queue.put((identifier, value))


if __name__ == '__main__':
    shared_queue = SimpleQueue()
    with Pool(initializer=init_worker, initargs=(shared_queue,)) as pool:
        _ = pool.map_async(task, range(10))
        for i in range(10):
            result = shared_queue.get()
            print(f'Got {result}', flush=True)
