# Idiom program, written for netpool (not a copy of public code).
# What it does: workers write into a shared multiprocessing.Array (given to the
# initializer and viewed as a numpy array); the parent then sees every row written.
# Idiom as seen in: Stack Overflow "Use numpy array in shared memory for multiprocessing",
#   https://stackoverflow.com/questions/7894791, the answer using
#   np.ctypeslib.as_array(shared_array_base.get_obj()) in a Pool initializer (CC BY-SA).
# Written anew in the answer's idiom; no code copied.
# Changes: none needed.
import ctypes
import multiprocessing

import numpy as np

shared_array = None


def init(shared_array_base):
    global shared_array
    shared_array = np.ctypeslib.as_array(shared_array_base.get_obj())
    shared_array = shared_array.reshape(10, 10)


# Parallel processing
def my_func(i):
    shared_array[i, :] = i


if __name__ == '__main__':
    shared_array_base = multiprocessing.Array(ctypes.c_double, 10 * 10)
    pool = multiprocessing.Pool(processes=4, initializer=init, initargs=(shared_array_base,))
    pool.map(my_func, range(10))
    pool.close()
    pool.join()
    init(shared_array_base)
    print(shared_array)
