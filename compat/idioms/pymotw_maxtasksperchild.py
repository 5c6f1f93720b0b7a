# Idiom program, written for netpool (not a copy of public code).
# What it does: PyMOTW's maxtasksperchild variant: workers are replaced after 2 tasks and
# each new one prints its name from the initializer.
# Idiom as seen in: PyMOTW-3 multiprocessing_pool_maxtasksperchild.py by Doug Hellmann,
#   https://pymotw.com/3/multiprocessing/communication.html#process-pools; the same program as
#   golanghack/programming_pro python/std_lib/concurrency/multiprocessing_pool_maxtasksperchild.py.
#   Licence: as stated on pymotw.com.
# Written anew in the source's idiom and output; no code copied.
# Changes: none needed. How many replacement workers start (and their numbers) depends on
# timing even under python, so start-up lines are compared as a set, numbers masked.
# compat: mask PoolWorker-\d+ => PoolWorker-N
# compat: uniq-lines
import multiprocessing


def do_calculation(data):
    return data * 2


def start_process():
    print('Starting', multiprocessing.current_process().name)


if __name__ == '__main__':
    inputs = list(range(10))
    print('Input   :', inputs)

    builtin_outputs = map(do_calculation, inputs)
    print('Built-in:', builtin_outputs)

    pool_size = multiprocessing.cpu_count() * 2
    pool = multiprocessing.Pool(processes=pool_size, initializer=start_process,
                                maxtasksperchild=2)
    pool_outputs = pool.map(do_calculation, inputs)
    pool.close()
    pool.join()

    print('Pool    :', pool_outputs)
