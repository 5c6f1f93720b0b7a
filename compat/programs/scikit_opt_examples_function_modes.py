# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: scikit-opt, examples/example_function_modes.py (https://github.com/guofei9987/
#   scikit-opt, commit 26164eb2 of that path; the example the package's README names for
#   "feature3: 4-ways to accelerate"), taken from a stored copy of that repository (the
#   wheel has no examples and the sdist does not build); run with scikit-opt 0.6.6
#   (`pip install scikit-opt==0.6.6`).
# Author: Guo Fei (guofei9987) and the scikit-opt contributors.
# Licence: MIT (scikit-opt's package metadata, "License: MIT").
# Changes: `time.sleep(0.1)` made `time.sleep(0.02)` and `n = 10000` made `n = 2000` in the
#   "costly" functions (28 s in all otherwise).
# No `__main__` guard: the whole program is top-level code. `import sko.tools` calls
# multiprocessing.set_start_method('fork'); set_run_mode(obj_func, 'multiprocessing') makes
# GA build `Pool()` inside a closure that is kept by the GA object and never closed or
# joined (two such pools, the first dropped when `ga` is rebound), whose `map` is given a
# function of __main__ that is redefined in a loop and calls another redefined global; the
# same function is also run through a multiprocessing.dummy (thread) pool. The timings vary
# from run to run: masked by the test's duration mask.
# compat: requires sko numpy

import numpy as np
from sko.GA import GA
import time
import datetime
from sko.tools import set_run_mode


def generate_costly_function(task_type='io_costly'):
    # generate a high cost function to test all the modes
    # cost_type can be 'io_costly' or 'cpu_costly'
    if task_type == 'io_costly':
        def costly_function():
            time.sleep(0.02)
            return 1
    else:
        def costly_function():
            n = 2000
            step1 = [np.log(i + 1) for i in range(n)]
            step2 = [np.power(i, 1.1) for i in range(n)]
            step3 = sum(step1) + sum(step2)
            return step3

    return costly_function


for task_type in ('io_costly', 'cpu_costly'):
    costly_function = generate_costly_function(task_type=task_type)


    def obj_func(p):
        costly_function()
        x1, x2 = p
        x = np.square(x1) + np.square(x2)
        return 0.5 + (np.square(np.sin(x)) - 0.5) / np.square(1 + 0.001 * x)


    for mode in ('common', 'multithreading', 'multiprocessing'):
        set_run_mode(obj_func, mode)
        ga = GA(func=obj_func, n_dim=2, size_pop=10, max_iter=5, lb=[-1, -1], ub=[1, 1], precision=1e-7)
        start_time = datetime.datetime.now()
        best_x, best_y = ga.run()
        print('on {task_type} task,use {mode} mode, costs {time_costs}s'
              .format(task_type=task_type, mode=mode,
                      time_costs=(datetime.datetime.now() - start_time).total_seconds()))

    # to use the vectorization mode, the function itself should support the mode.
    mode = 'vectorization'


    def obj_func2(p):
        costly_function()
        x1, x2 = p[:, 0], p[:, 1]
        x = np.square(x1) + np.square(x2)
        return 0.5 + (np.square(np.sin(x)) - 0.5) / np.square(1 + 0.001 * x)


    set_run_mode(obj_func2, mode)
    ga = GA(func=obj_func2, n_dim=2, size_pop=10, max_iter=5, lb=[-1, -1], ub=[1, 1], precision=1e-7)
    start_time = datetime.datetime.now()
    best_x, best_y = ga.run()
    print('on {task_type} task,use {mode} mode, costs {time_costs}s'
          .format(task_type=task_type, mode=mode,
                  time_costs=(datetime.datetime.now() - start_time).total_seconds()))


# %%cache mode

def obj_func_for_cache_mode(p):
    costly_function()
    x1, x2 = p
    x = np.square(x1) + np.square(x2)
    return 0.5 + (np.square(np.sin(x)) - 0.5) / np.square(1 + 0.001 * x)


for task_type in ('io_costly', 'cpu_costly'):
    costly_function = generate_costly_function(task_type=task_type)

    for mode in ('common', 'cached'):
        set_run_mode(obj_func_for_cache_mode, mode)
        ga_2 = GA(func=obj_func_for_cache_mode, n_dim=2, size_pop=6, max_iter=10, lb=[-2, -2], ub=[2, 2], precision=1)
        start_time = datetime.datetime.now()
        best_x, best_y = ga_2.run()
        print('on {task_type} task,use {mode} mode, costs {time_costs}s'
              .format(task_type=task_type, mode=mode,
                      time_costs=(datetime.datetime.now() - start_time).total_seconds()))
