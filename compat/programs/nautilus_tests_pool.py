# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: nautilus-sampler 1.0.6, tests/test_pool.py (https://github.com/johannesulf/
#   nautilus, same path); obtained with `pip download --no-deps --no-binary :all:
#   nautilus-sampler==1.0.6` (the sdist).
# Author: Johannes U. Lange and the nautilus contributors.
# Licence: MIT (nautilus's LICENSE, "Copyright (c) 2022 Johannes U. Lange").
# Changes: `from dask.distributed import Client` and the 'dask' case of the parametrize
#   list left out (dask is not installed; that case starts a dask cluster); the pytest
#   decorators turned into a loop under a `__main__` guard calling test_pool for each
#   remaining case (pytest would do that; the skipif for 'spawn' kept as an if); each case
#   and what its asserts check printed.
# nautilus's NautilusPool makes `multiprocessing.Pool(n, initializer=initialize_worker,
# initargs=(likelihood,))` for an integer (one or two pools per sampler: likelihood calls
# and sampler calculations), or wraps a user's `Pool(4)`, reads its size from
# `pool._processes` and calls `pool.map`; the likelihood returns os.getpid() as a "blob",
# and the test asserts that exactly n_jobs distinct processes ran it. Pools made by the
# library are never closed; the user's pool is close()d without join().
# compat: requires nautilus numpy scipy sklearn

import numpy as np
import multiprocessing
import os
import pytest
import time

from multiprocessing import Pool

from nautilus import Sampler
from nautilus.pool import NautilusPool


def prior(x):
    return x


def likelihood(x):
    time.sleep(0.001)
    return 1, os.getpid()


def test_pool(pool):
    # Test that the expected number of processes are run.

    if isinstance(pool, tuple):
        n_jobs = pool[0]
    else:
        if pool not in ['mp', 'dask']:
            n_jobs = 1 if pool is None else pool
        elif pool == 'mp':
            n_jobs = 4
            pool = Pool(n_jobs)
        else:
            pool = Client()
            n_jobs = NautilusPool(pool).size

    sampler = Sampler(prior, likelihood, n_dim=2, n_live=50, n_networks=1,
                      pool=pool)
    sampler.run(f_live=1.0, n_eff=0)
    points, log_w, log_l, blobs = sampler.posterior(return_blobs=True)

    print(n_jobs, len(np.unique(blobs)), sampler.n_batch, sampler.n_batch % n_jobs)
    assert len(np.unique(blobs)) == n_jobs
    assert sampler.n_batch >= 100
    assert (sampler.n_batch % n_jobs) == 0

    try:
        pool.close()
    except AttributeError:
        pass


if __name__ == "__main__":
    if multiprocessing.get_start_method() != 'spawn':
        for pool in [None, 1, 2, (1, 4), (4, 1), 'mp']:
            print(pool, end=': ')
            test_pool(pool)
