# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: pyswarms 1.3.0, tests/optimizers/abc_test_optimizer.py, the test
#   `ABCTestOptimizer.test_parallel_evaluation` with its fixtures `options` and
#   `obj_without_args`, run for the `optimizer` fixtures of tests/optimizers/
#   test_global_best.py (GlobalBestPSO) and test_local_best.py (LocalBestPSO)
#   (https://github.com/ljvmiranda921/pyswarms, same paths); obtained with
#   `pip download --no-deps --no-binary :all: pyswarms==1.3.0` (the sdist).
# Author: Lester James V. Miranda and the pyswarms contributors.
# Licence: MIT (pyswarms's LICENSE, "Copyright (c) 2017, Lester James V. Miranda").
# Changes: the test method made a function and the fixtures' values passed to it by a loop
#   under a `__main__` guard (pytest would do that); `np.random.seed(0)` added before each
#   run (the swarm starts at random); `verbose=False` added to `optimize` (its tqdm bar and
#   log lines are timing-dependent); the returned cost and position and the asserted
#   shape printed.
# The library makes `mp.Pool(n_processes)` inside `optimize`, maps an objective over
# `np.array_split(positions, pool._processes)` (a private attribute of the pool) 2000 times
# per run, and close()s the pool without join() at the end of each run.
# compat: requires pyswarms numpy

# Import modules
import numpy as np

# Import from pyswarms
from pyswarms.single import GlobalBestPSO, LocalBestPSO
from pyswarms.utils.functions.single_obj import rosenbrock, sphere


def options():
    """Default options dictionary for most PSO use-cases"""
    return {"c1": 0.3, "c2": 0.7, "w": 0.9, "k": 2, "p": 2, "r": 1}


def obj_without_args():
    """Objective function without arguments"""
    return rosenbrock


def test_parallel_evaluation(obj_without_args, optimizer, options):
    """Test if parallelization breaks the optimization process"""
    import multiprocessing

    opt = optimizer(100, 2, options=options)
    cost, pos = opt.optimize(
        obj_without_args, 2000, n_processes=multiprocessing.cpu_count(), verbose=False
    )
    assert np.array(opt.cost_history).shape == (2000,)
    print(optimizer.__name__, cost, pos, np.array(opt.cost_history).shape)


if __name__ == "__main__":
    for optimizer in (GlobalBestPSO, LocalBestPSO):
        np.random.seed(0)
        test_parallel_evaluation(obj_without_args(), optimizer, options())
