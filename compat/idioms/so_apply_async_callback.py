# Idiom program, written for netpool (not a copy of public code).
# What it does: apply_async with a callback that appends to a list in the parent (and prints
# which process runs it), then close() and join() right after submitting.
# Idiom as seen in: Stack Overflow "multiprocessing.Pool: When to use apply, apply_async or map?",
#   https://stackoverflow.com/questions/8533318, answer by unutbu (CC BY-SA); the same
#   program as NirmalVatsyayan/python-revision language_programs/45_multiprocessing_async.py.
# Written anew in the answer's idiom; no code copied.
# Changes: tasks sleep 0.05 s, not 2 s; the final list is printed sorted (callback order
#   depends on timing).
# compat: sort-lines
import multiprocessing as mp
import time


def foo_pool(x):
    time.sleep(0.05)
    return x * x


result_list = []


def log_result(result):
    # This is called whenever foo_pool(i) returns a result.
    # result_list is modified only by the main process, not the pool workers.
    result_list.append(result)
    print(mp.current_process().name, "  >>  ", result)


def apply_async_with_callback():
    pool = mp.Pool()
    for i in range(10):
        pool.apply_async(foo_pool, args=(i,), callback=log_result)
    pool.close()
    pool.join()
    print(sorted(result_list))


if __name__ == '__main__':
    apply_async_with_callback()
