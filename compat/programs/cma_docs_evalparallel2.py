# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: cma (pycma) 4.5.0, the doctest examples of `cma.CMAEvolutionStrategy`
#   (cma/evolution_strategy.py lines 926-935, "Using the multiprocessing module, we can
#   evaluate the function in parallel") and of `cma.optimization_tools.EvalParallel2`
#   (cma/optimization_tools.py lines 538-557) (https://github.com/CMA-ES/pycma); obtained
#   with `pip install cma==4.5.0` (the installed wheel).
# Author: Nikolaus Hansen, Youhei Akimoto, Petr Baudis (the pycma authors).
# Licence: BSD-3-Clause (the package's LICENSE, "Copyright (c) 2014 Inria").
# Changes: the doctest prompts removed; `import cma` (the doctests' global) added; a seed
#   added to each CMAEvolutionStrategy's options (the runs are random otherwise); the value
#   the doctest shows of `ep(...)` printed; the `# doctest:` comments dropped.
# EvalParallel2 makes a Pool, evaluates a population with apply_async + get(timeout), and
# terminates + joins the pool at the end of its `with` block (and again in __del__).
# compat: requires cma numpy
# compat: mask \(seed=\d+, [^)]*\) => (seed=S, DATE)
# compat: mask (?m)\d+:\d\d\.\d *$ => <T>

import cma

from cma.fitness_functions import elli  # cannot be an instance method
from cma.optimization_tools import EvalParallel2
es = cma.CMAEvolutionStrategy(22 * [0.0], 1.0, {'maxiter':10, 'seed':1})
with EvalParallel2(elli, es.popsize + 1) as eval_all:
    while not es.stop():
        X = es.ask()
        es.tell(X, eval_all(X))
        es.disp()
        # es.logger.add()

from cma.optimization_tools import EvalParallel2
for n_jobs in [None, -1, 0, 1, 2, 4]:
    with EvalParallel2(cma.fitness_functions.elli, n_jobs) as eval_all:
        res = eval_all([[1,2], [3,4]])
# class usage, don't forget to call terminate
ep = EvalParallel2(cma.fitness_functions.elli, 4)
print([float(v) for v in ep([[1,2], [3,4], [4, 5]])])
ep.terminate()
# use with `with` statement (context manager)
es = cma.CMAEvolutionStrategy(3 * [1], 1, dict(verbose=-9, ftarget=1e-3, seed=2))
with EvalParallel2(cma.fitness_functions.elli,
                   number_of_processes=12) as eval_all:
    while not es.stop():
        X = es.ask()
        es.tell(X, eval_all(X, args=(1e1,)))  # `eval_all` also accepts
                                              # `fitness_function` as
                                              # (optional) keyword argument
assert es.result[1] < 1e-3 and es.result[2] < 1500
