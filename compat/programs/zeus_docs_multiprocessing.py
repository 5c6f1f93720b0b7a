# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: zeus (zeus-mcmc), docs/notebooks/multiprocessing.ipynb, "Parallelizing sampling
#   using multiprocessing" (https://github.com/minaskar/zeus, commit 6136c846 of that path;
#   https://zeus-mcmc.readthedocs.io/en/latest/notebooks/multiprocessing.html), taken from
#   a stored copy of that repository (the sdist has no docs); run with zeus-mcmc 2.5.4
#   (`pip install zeus-mcmc==2.5.4`).
# Author: Minas Karamanis (zeus).
# Licence: GPL-3.0 (zeus-mcmc's LICENSE and package metadata).
# Changes: the notebook's code cells in order, as one script, each separated by two blank
#   lines; `nsteps = 100` made `nsteps = 10` (the serial run takes 19 s otherwise);
#   `np.random.seed(0)` and `random.seed(0)` (with `import random`) added before `start` is
#   drawn (the walkers start at random, zeus's DifferentialMove uses `random.sample`); the
#   mean of each chain printed after each run (the notebook prints only timings).
# A Pool() of os.cpu_count() workers in a `with` block handed to a sampler as `pool=`
# (zeus calls `pool.map` on a function of the notebook's __main__), a tqdm bar on stderr.
# The timings vary from run to run: masked by the test's duration mask.
# compat: requires zeus numpy tqdm
# compat: progress-bars

import zeus
import numpy as np
import time
from multiprocessing import Pool


ndim = 5
nwalkers = 2 * ndim
nsteps = 10

def log_prob(x):
    time.sleep(0.003)
    return -0.5 * np.sum(x**2.0)

import random
random.seed(0)
np.random.seed(0)
start = np.random.randn(nwalkers, ndim)


t0 = time.time()

sampler = zeus.EnsembleSampler(nwalkers, ndim, log_prob)
sampler.run_mcmc(start, nsteps)

print("Serial took {0:.1f} seconds".format(time.time()-t0))
print(sampler.get_chain().mean())


t0 = time.time()

with Pool() as pool:
    sampler = zeus.EnsembleSampler(nwalkers, ndim, log_prob, pool=pool)
    sampler.run_mcmc(start, nsteps)

print("Multiprocessing took {0:.1f} seconds".format(time.time()-t0))
print(sampler.get_chain().mean())
