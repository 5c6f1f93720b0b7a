# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: DEAP 1.4.4, tests/test_multiproc.py (https://github.com/DEAP/deap, same path);
#   obtained with `pip download --no-binary :all: deap==1.4.4`.
# Author: the DEAP developers (Félix-Antoine Fortin, François-Michel De Rainville et al.).
# Licence: LGPL-3.0-or-later (DEAP's LICENSE.txt).
# Changes: a call of the test function appended (`test_multiproc()`; pytest would call it).
# No __main__ guard: the call runs at import; a Pool(4) never closed, its `map` registered
# in a DEAP toolbox; classes made at run time by `creator.create` in the results' fitness.
# compat: requires deap

import multiprocessing

from deap import base
from deap import creator


def _evalOneMax(individual):
    return sum(individual),


def test_multiproc():
    creator.create("FitnessMax", base.Fitness, weights=(1.0,))
    creator.create("Individual", list, fitness=creator.FitnessMax)

    toolbox = base.Toolbox()
    toolbox.register("evaluate", _evalOneMax)

    # Process Pool of 4 workers
    pool = multiprocessing.Pool(processes=4)
    toolbox.register("map", pool.map)

    pop = [[1] * 20 for _ in range(100)]
    fitnesses = toolbox.map(toolbox.evaluate, pop)
    for ind, fit in zip(pop, fitnesses):
        assert fit == (sum(ind),)


test_multiproc()
