# Corpus program: a verbatim copy of a public program (a test input, not netpool code).
# Source: SciPy 1.17.1, scipy/_lib/tests/test__util.py, lines 1-5 and 8-11 (imports), 15-18
#   (the import from scipy._lib._util, cut to the names these tests use) and 114-178 (test_pool,
#   test_mapwrapper_parallel, user_of_workers, test__workers_wrapper)
#   (https://github.com/scipy/scipy); obtained with `pip install scipy==1.17.1` (the wheel
#   holds its tests).
# Author: the SciPy developers.
# Licence: BSD-3-Clause (SciPy's LICENSE.txt).
# Changes: only the imports these tests use kept (MapWrapper and _workers_wrapper of the
#   names of lines 15-18, on one line); the three test functions called at the end, in a
#   __main__ guard, and a line printed after them.
# SciPy's MapWrapper makes its own pool with get_context("forkserver").Pool(processes=2)
# and the test checks isinstance(p.pool, multiprocessing.pool.Pool) (imported as PWL before
# any pool exists), that leaving its `with` closes and terminates it (a later map raises
# ValueError), and pool.map handed to a function as its `workers=`.
# compat: requires numpy scipy pytest
# compat: timeout 120

from multiprocessing import Pool
from multiprocessing.pool import Pool as PWL
import re
import math
import functools
import numpy as np
from numpy.testing import assert_equal, assert_
import pytest
from pytest import raises as assert_raises
from scipy._lib._util import MapWrapper, _workers_wrapper


def test_pool():
    with Pool(2) as p:
        p.map(math.sin, [1, 2, 3, 4])


def test_mapwrapper_parallel():
    in_arg = np.arange(10.)
    out_arg = np.sin(in_arg)

    with MapWrapper(2) as p:
        out = p(np.sin, in_arg)
        assert_equal(list(out), out_arg)

        assert_(p._own_pool is True)
        assert_(isinstance(p.pool, PWL))
        assert_(p._mapfunc is not None)

    # the context manager should've closed the internal pool
    # check that it has by asking it to calculate again.
    with assert_raises(Exception) as excinfo:
        p(np.sin, in_arg)

    assert_(excinfo.type is ValueError)

    # can also set a PoolWrapper up with a map-like callable instance
    with Pool(2) as p:
        q = MapWrapper(p.map)

        assert_(q._own_pool is False)
        q.close()

        # closing the PoolWrapper shouldn't close the internal pool
        # because it didn't create it
        out = p.map(np.sin, in_arg)
        assert_equal(list(out), out_arg)


@_workers_wrapper
def user_of_workers(x, b=1, workers=None):
    assert workers is not None
    assert isinstance(workers, MapWrapper)
    return np.array(list(workers(np.sin, x * b)))


def test__workers_wrapper():
    arr = np.linspace(0, np.pi)
    req = np.sin(arr * 2.0)

    with Pool(2) as p:
        v = user_of_workers(arr, workers=p.map, b=2)
        assert_equal(v, req)

    v = user_of_workers(arr, workers=None, b=2)
    assert_equal(v, req)

    v = user_of_workers(arr, workers=2, b=2)
    assert_equal(v, req)

    # assess if decorator works with partial functions
    part_f = functools.partial(user_of_workers, b=2)
    assert_equal(part_f(arr), req)

    with Pool(2) as p:
        part_f = functools.partial(user_of_workers, b=2, workers=p.map)
        assert_equal(part_f(arr), req)


if __name__ == "__main__":
    test_pool()
    test_mapwrapper_parallel()
    test__workers_wrapper()
    print("scipy MapWrapper tests passed")
