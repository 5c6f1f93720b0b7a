# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: pymoo, docs/source/problems/parallelization.md, the "Parallelization" guide
#   (https://github.com/anyoptimization/pymoo, commit 2f39c1c2 of that path;
#   https://pymoo.org/problems/parallelization.html), taken from a stored copy of that
#   repository (the wheel has no docs); run with pymoo 0.6.2 (`pip install pymoo==0.6.2`).
# Author: Julian Blank and the pymoo contributors.
# Licence: Apache-2.0 (pymoo's LICENSE and package metadata).
# Changes: the guide's code cells in order, as one script, each separated by two blank
#   lines; the three Dask cells left out (they need dask.distributed and start a cluster);
#   `print(res.F)` added after each `print(..., res.exec_time)` (the guide prints only
#   timings); `termination=("n_gen", 200)` made `("n_gen", 50)` in the four runs (15 s in
#   all otherwise).
# No `__main__` guard. `multiprocessing.Pool(8)`'s bound `starmap` kept in a
# StarmapParallelization object inside the problem (its __getstate__ drops the starmap,
# so the problem can be pickled with each task), 200 generations of starmap calls, then
# close() without join(); thread pools (multiprocessing.pool.ThreadPool) before and after.
# pymoo 0.6.2 warns that `StarmapParallelization` moved (a DeprecationWarning on stderr).
# The execution times (seconds, without a unit) vary from run to run: masked.
# compat: requires pymoo numpy
# compat: mask (?m)^(Threads|Dask): \S+$ => \1: <T>

import numpy as np
from pymoo.core.problem import Problem

class MyProblem(Problem):

    def __init__(self, **kwargs):
        super().__init__(n_var=10, n_obj=1, n_ieq_constr=0, xl=-5, xu=5, **kwargs)

    def _evaluate(self, x, out, *args, **kwargs):
         out["F"] = np.sum(x ** 2, axis=1)

problem = MyProblem()


from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.optimize import minimize

res = minimize(problem, GA(), termination=("n_gen", 50), seed=1)
print('Threads:', res.exec_time)
print(res.F)


from pymoo.core.problem import ElementwiseProblem

class MyProblem(ElementwiseProblem):

    def __init__(self, **kwargs):
        super().__init__(n_var=10, n_obj=1, n_ieq_constr=0, xl=-5, xu=5, **kwargs)

    def _evaluate(self, x, out, *args, **kwargs):
         out["F"] = (x ** 2).sum()


from multiprocessing.pool import ThreadPool
from pymoo.core.problem import StarmapParallelization
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.optimize import minimize


# initialize the thread pool and create the runner
n_threads = 4
pool = ThreadPool(n_threads)
runner = StarmapParallelization(pool.starmap)

# define the problem by passing the starmap interface of the thread pool
problem = MyProblem(elementwise_runner=runner)

res = minimize(problem, GA(), termination=("n_gen", 50), seed=1)
print('Threads:', res.exec_time)
print(res.F)

pool.close()


import multiprocessing
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.optimize import minimize


# initialize the thread pool and create the runner
n_proccess = 8
pool = multiprocessing.Pool(n_proccess)
runner = StarmapParallelization(pool.starmap)

# define the problem by passing the starmap interface of the thread pool
problem = MyProblem(elementwise_runner=runner)

res = minimize(problem, GA(), termination=("n_gen", 50), seed=1)
print('Threads:', res.exec_time)
print(res.F)

pool.close()


from pymoo.core.problem import Problem

pool = ThreadPool(8)

class MyProblem(Problem):

    def __init__(self, **kwargs):
        super().__init__(n_var=10, n_obj=1, n_ieq_constr=0, xl=-5, xu=5, **kwargs)
        
    def _evaluate(self, X, out, *args, **kwargs):
        
        # define the function
        def my_eval(x):
            return (x ** 2).sum()
            
        # prepare the parameters for the pool
        params = [[X[k]] for k in range(len(X))]

        # calculate the function values in a parallelized manner and wait until done
        F = pool.starmap(my_eval, params)
        
        # store the function values and return them.
        out["F"] = np.array(F)
        
problem = MyProblem()       


res = minimize(problem, GA(), termination=("n_gen", 50), seed=1)
print('Threads:', res.exec_time)
print(res.F)


pool.close()
