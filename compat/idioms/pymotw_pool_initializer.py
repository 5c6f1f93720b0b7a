# Idiom program, written for netpool (not a copy of public code).
# What it does: PyMOTW's Pool example: an initializer that prints the worker's name, the
# builtin map next to pool.map, close() and join().
# Idiom as seen in: PyMOTW-3 "multiprocessing -- Manage Processes Like Threads", multiprocessing_pool.py,
#   by Doug Hellmann, https://pymotw.com/3/multiprocessing/communication.html#process-pools
#   (the same program in golanghack/programming_pro python/std_lib/concurrency/).
#   Licence: as stated on pymotw.com.
# Written anew in the source's idiom and output; no code copied.
# Changes: none needed. Worker start-up lines race each other.
# compat: sort-lines
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
    pool = multiprocessing.Pool(processes=pool_size, initializer=start_process)
    pool_outputs = pool.map(do_calculation, inputs)
    pool.close()  # no more tasks
    pool.join()  # wrap up current tasks

    print('Pool    :', pool_outputs)
