# Idiom program, written for netpool (not a copy of public code).
# What it does: a RawArray plus its shape and dtype set as three globals by the initializer;
# tasks view it with np.frombuffer and report their timing.
# Idiom as seen in: OKzsy/work random_forest/share_memory.py (GitHub, by OKzsy).
# Written anew in the source's idiom; no code copied.
# Changes: seeded data; the task's "some other operations" sleep is 0.05 s, not 1 s; the
#   task's print flushes: without, leaving the `with` block terminates the stdlib's workers
#   before some of them flush, and a varying subset of the lines is lost under python.
# The workers' lines reach the pipe when they flush, racing the parent's: compared sorted.
# compat: sort-lines
# A stdlib worker's unflushed prints are lost when leaving the `with` block terminates it (how
# many varies from run to run); netpool's idle workers flush as they stop: count each once.
# compat: uniq-lines
import multiprocessing
import time

import numpy as np


def init_pool(arr_shared, shape, dt):
    global global_arr_shared
    global SHAPE
    global dtype
    global_arr_shared = arr_shared
    SHAPE = shape
    dtype = dt


def worker(i):
    start_time = time.time()
    new_arr = np.frombuffer(global_arr_shared, dtype).reshape(SHAPE)
    end_time = time.time()
    print("time: %.4f secs." % (end_time - start_time), flush=True)
    time.sleep(0.05)  # some other operations
    return new_arr[i, 0, 0]


if __name__ == '__main__':
    imgtype2ctype = {1: ['b', 'byte'], 2: ['H', 'uint16'], 3: ['h', 'int16'],
                     4: ['L', 'uint32'], 5: ['l', 'int32'], 6: ['f', 'float32'],
                     7: ['d', 'float64']}
    typecode = 2
    dt = np.dtype(imgtype2ctype[typecode][1])
    SHAPE = (3, 10, 10)
    arr = np.random.default_rng(2).integers(low=0, high=1000, size=SHAPE).astype(dt)
    print(arr[:, 0, 0])
    arr_shared = multiprocessing.RawArray(imgtype2ctype[typecode][0], arr.ravel())
    arr = None
    with multiprocessing.Pool(processes=3, initializer=init_pool,
                              initargs=(arr_shared, SHAPE, dt)) as pool:
        for result in pool.map(worker, [0, 1, 2]):
            print(result)
    arr_shared = None
