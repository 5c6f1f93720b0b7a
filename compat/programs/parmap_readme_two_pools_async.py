# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: parmap 1.7.0, README.rst lines 110-137, "Advanced: Multiple parallel tasks running
#   in parallel" (https://github.com/zeehio/parmap); obtained with
#   `pip download --no-binary :all: parmap==1.7.0`.
# Author: Sergio Oller (zeehio).
# Licence: Apache-2.0 (parmap's LICENSE.txt).
# Changes: the reST code block's indentation removed.
# No __main__ guard: two pools at once (5 and 3 workers, made by parmap.map_async), their
# results polled with wait(0.1)/ready() and the pools terminated by parmap's `with`; parmap
# subclasses multiprocessing.pool.AsyncResult. Which task is seen finished first depends on
# timing when both are done at the first look.
# compat: sort-lines
# compat: requires parmap

import parmap
def task1(item):
    return 2*item

def task2(item):
    return 2*item + 1

items1 = range(500000)
items2 = range(500)

with parmap.map_async(task1, items1, pm_processes=5) as result1:
    with parmap.map_async(task2, items2, pm_processes=3) as result2:
        data_task1 = None
        data_task2 = None
        task1_working = True
        task2_working = True
        while task1_working or task2_working:
            result1.wait(0.1)
            if task1_working and result1.ready():
                print("Task 1 has finished!")
                data_task1 = result1.get()
                task1_working = False
            result2.wait(0.1)
            if task2_working and result2.ready():
                print("Task 2 has finished!")
                data_task2 = result2.get()
                task2_working = False
#Further work with data_task1 or data_task2
