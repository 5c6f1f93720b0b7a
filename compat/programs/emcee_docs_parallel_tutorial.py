# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: emcee 3.1.6, docs/tutorials/parallel.ipynb, the "Parallelization" tutorial
#   (https://github.com/dfm/emcee, same path; https://emcee.readthedocs.io/en/stable/
#   tutorials/parallel/); obtained with `pip download --no-binary :all: emcee==3.1.6`.
# Author: Dan Foreman-Mackey (emcee).
# Licence: MIT (emcee's LICENSE).
# Changes: the notebook's code cells in order, as one script, each separated by two blank
#   lines; from the first cell the `%config InlineBackend...` magic and the matplotlib
#   `rcParams` lines removed (a notebook's plot settings; its `set_start_method("fork")`
#   kept); the MPI cell left out (it needs `mpiexec` and schwimmbad); `nsteps = 100` made
#   `nsteps = 4` (each step is 32 walkers of 5 to 8 ms busy waits: 80 s in all otherwise).
# Context-managed Pools handed to a library as `pool=` (emcee calls `pool.map`), numpy
# arrays, a 8 MB argument pickled with every task and then the same data as a global of
# the script. The timings and speed-ups vary from run to run: masked.
# compat: requires emcee numpy tqdm
# compat: progress-bars
# compat: mask \d+\.\d+ times faster => <R> times faster

import multiprocessing

multiprocessing.set_start_method("fork")


import os

os.environ["OMP_NUM_THREADS"] = "1"


import time
import numpy as np


def log_prob(theta):
    t = time.time() + np.random.uniform(0.005, 0.008)
    while True:
        if time.time() >= t:
            break
    return -0.5 * np.sum(theta**2)


import emcee

np.random.seed(42)
initial = np.random.randn(32, 5)
nwalkers, ndim = initial.shape
nsteps = 4

sampler = emcee.EnsembleSampler(nwalkers, ndim, log_prob)
start = time.time()
sampler.run_mcmc(initial, nsteps, progress=True)
end = time.time()
serial_time = end - start
print("Serial took {0:.1f} seconds".format(serial_time))


from multiprocessing import Pool

with Pool() as pool:
    sampler = emcee.EnsembleSampler(nwalkers, ndim, log_prob, pool=pool)
    start = time.time()
    sampler.run_mcmc(initial, nsteps, progress=True)
    end = time.time()
    multi_time = end - start
    print("Multiprocessing took {0:.1f} seconds".format(multi_time))
    print("{0:.1f} times faster than serial".format(serial_time / multi_time))


from multiprocessing import cpu_count

ncpu = cpu_count()
print("{0} CPUs".format(ncpu))


def log_prob_data(theta, data):
    a = data[0]  # Use the data somehow...
    t = time.time() + np.random.uniform(0.005, 0.008)
    while True:
        if time.time() >= t:
            break
    return -0.5 * np.sum(theta**2)


data = np.random.randn(5000, 200)

sampler = emcee.EnsembleSampler(nwalkers, ndim, log_prob_data, args=(data,))
start = time.time()
sampler.run_mcmc(initial, nsteps, progress=True)
end = time.time()
serial_data_time = end - start
print("Serial took {0:.1f} seconds".format(serial_data_time))


with Pool() as pool:
    sampler = emcee.EnsembleSampler(
        nwalkers, ndim, log_prob_data, pool=pool, args=(data,)
    )
    start = time.time()
    sampler.run_mcmc(initial, nsteps, progress=True)
    end = time.time()
    multi_data_time = end - start
    print("Multiprocessing took {0:.1f} seconds".format(multi_data_time))
    print(
        "{0:.1f} times faster(?) than serial".format(
            serial_data_time / multi_data_time
        )
    )


def log_prob_data_global(theta):
    a = data[0]  # Use the data somehow...
    t = time.time() + np.random.uniform(0.005, 0.008)
    while True:
        if time.time() >= t:
            break
    return -0.5 * np.sum(theta**2)


with Pool() as pool:
    sampler = emcee.EnsembleSampler(
        nwalkers, ndim, log_prob_data_global, pool=pool
    )
    start = time.time()
    sampler.run_mcmc(initial, nsteps, progress=True)
    end = time.time()
    multi_data_global_time = end - start
    print(
        "Multiprocessing took {0:.1f} seconds".format(multi_data_global_time)
    )
    print(
        "{0:.1f} times faster than serial".format(
            serial_data_time / multi_data_global_time
        )
    )
