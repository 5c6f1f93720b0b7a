"""CPython's own ``multiprocessing.Pool`` tests, pointed at ``netpool.DistributedPool``.

The test classes come from the installed standard library (``test._test_multiprocessing``),
unchanged. CPython builds its process variant as ``(TestClass, ProcessesMixin, TestCase)``,
the pool being the mixin's ``Pool`` attribute; we do the same with a mixin whose ``Pool`` is
DistributedPool (see ``install_tests_in_module_dict`` in that module).

Where a test names the stdlib directly, the name is redirected for that test only:

* ``multiprocessing.Pool(...)`` in the test body (and in a forked ``multiprocessing.Process``
  child) is patched to a factory that builds a DistributedPool and records that it did, so a
  redirect that silently failed to apply is an error, not a stdlib pass.
* the ``python -I -c`` child of the atexit test gets ``from netpool import DistributedPool as
  Pool`` injected in place of ``from multiprocessing import Pool``, and reports the class it used.

Of the 33 Pool tests, 30 check behaviour (listed in the project's reference
``pool-semantics.md``) and run here; 3 read CPython internals and are excluded (``EXCLUDED``
says why). Their behavioural parts are checked in test_differential.py, on both pools:
``test_bad_constructor_arguments`` and ``test_all_processes_run_at_once`` (test_make_pool),
``test_dropping_a_running_pool_warns`` (test_resource_warning) and
``test_maxtasksperchild_replaces_workers`` (test_pool_worker_lifetime).

All 30 behavioural tests run and must pass; a known bug would be marked
``xfail(strict=True)`` with the bug in the reason and listed in compat/DEVIATIONS.md.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import tempfile
import unittest
from typing import Any
from unittest import mock

import pytest

import test.support.script_helper
import test._test_multiprocessing as cp

import netpool

# Every test is bounded: the slowest ones here take a few seconds, a hang fails in 60 s.
pytestmark = pytest.mark.timeout(60)

#: CPython-internal tests: not fair to require of a network pool (see the module docstring).
EXCLUDED = {
    "test_make_pool": "asserts len(p._pool) == 3, the private list of local Process objects",
    "test_resource_warning": "sets the private p._state = multiprocessing.pool.RUN after "
                             "terminate() and expects CPython's Pool.__del__ to warn",
    "test_pool_worker_lifetime": "reads worker pids from the private p._pool and calls the "
                                 "private p._repopulate_pool()",
}

#: Tests of these classes that are not Pool tests at all (Manager, Queue, stdout flushing).
NOT_POOL_TESTS = ("test_manager_initializer", "test_queue_in_process", "test_flushing")


# -- the redirect -------------------------------------------------------------------------

class _Recorder:
    """``multiprocessing.Pool`` for the duration of a test: a DistributedPool, noted in a file.

    The file (not a list) is there so that a pool made in a forked child is seen too.
    """

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="netpool-compat-", suffix=".log")
        os.close(fd)

    def __call__(self, *args: Any, **kwargs: Any) -> netpool.DistributedPool:
        # Noted before the call: a constructor that raises (bad arguments) counts too.
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()} {netpool.DistributedPool.__module__}."
                    f"{netpool.DistributedPool.__qualname__}\n")
        return netpool.DistributedPool(*args, **kwargs)

    def records(self) -> list[tuple[int, str]]:
        with open(self.path) as f:
            return [(int(pid), name) for pid, name in (line.split() for line in f)]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)


_SCRIPT_IMPORT = "from multiprocessing import Pool"
_NETPOOL_IMPORT = "from netpool import DistributedPool as Pool"
_SCRIPT_REPORT = "\nprint('POOL-CLASS', type(problem.pool).__module__)\n"


def _injecting_assert_python_ok(original: Any) -> Any:
    """``assert_python_ok`` whose ``-c`` child uses DistributedPool, and proves that it did."""

    def run(*args: str, **env: Any) -> Any:
        args = list(args)
        i = args.index("-c") + 1
        assert args[i].count(_SCRIPT_IMPORT) == 1, "the child script changed upstream"
        args[i] = args[i].replace(_SCRIPT_IMPORT, _NETPOOL_IMPORT) + _SCRIPT_REPORT
        rc, out, err = original(*args, **env)
        assert b"POOL-CLASS netpool.pool" in out, (out, err)
        return rc, out, err

    return run


class RedirectMixin:
    """Points every spelling of the stdlib Pool at DistributedPool while a test runs."""

    def setUp(self) -> None:
        recorder = _Recorder()
        self.addCleanup(recorder.close)
        stack = contextlib.ExitStack()
        self.addCleanup(stack.close)
        stack.enter_context(mock.patch.object(multiprocessing, "Pool", recorder))
        stack.enter_context(mock.patch.object(
            test.support.script_helper, "assert_python_ok",
            _injecting_assert_python_ok(test.support.script_helper.assert_python_ok)))
        # A child made by multiprocessing.Process must inherit the patch: fork, not spawn.
        old = multiprocessing.get_start_method(allow_none=True)
        multiprocessing.set_start_method("fork", force=True)
        self.addCleanup(multiprocessing.set_start_method, old, force=True)
        self._recorder = recorder
        super().setUp()

    def _used(self) -> list[tuple[int, str]]:
        return [r for r in self._recorder.records() if r[1] == "netpool.pool.DistributedPool"]


class NetpoolMixin(cp.ProcessesMixin):
    """CPython's ``ProcessesMixin`` with ``Pool`` = DistributedPool (TYPE stays 'processes')."""

    Pool = staticmethod(netpool.DistributedPool)


def _exclude(cls: type, names: Any) -> type:
    # unittest (and pytest's unittest collector) collect only callable test_* attributes.
    for name in names:
        if hasattr(cls, name):
            setattr(cls, name, None)
    return cls


# -- the composed classes, as install_tests_in_module_dict builds them ---------------------

class WithNetpoolTestPool(cp._TestPool, NetpoolMixin, unittest.TestCase):
    pass


class WithNetpoolTestPoolWorkerErrors(RedirectMixin, cp._TestPoolWorkerErrors, NetpoolMixin,
                                      unittest.TestCase):
    def tearDown(self) -> None:
        super().tearDown()
        assert self._used(), "multiprocessing.Pool was not redirected"


class WithNetpoolTestPoolWorkerLifetime(RedirectMixin, cp._TestPoolWorkerLifetime,
                                        NetpoolMixin, unittest.TestCase):
    def tearDown(self) -> None:
        super().tearDown()
        if self._testMethodName != "test_worker_finalization_via_atexit_handler_of_multiprocessing":
            assert self._used(), "multiprocessing.Pool was not redirected"


class TestInitializers(RedirectMixin, cp.TestInitializers):
    def tearDown(self) -> None:
        super().tearDown()
        assert self._used(), "multiprocessing.Pool was not redirected"


class TestStdinBadfiledescriptor(RedirectMixin, cp.TestStdinBadfiledescriptor):
    def tearDown(self) -> None:
        super().tearDown()
        # The test asserts nothing; at least make sure the child used a DistributedPool.
        assert any(pid != os.getpid() for pid, _ in self._used()), \
            "the forked child did not build a DistributedPool"


for _cls in (WithNetpoolTestPool, WithNetpoolTestPoolWorkerErrors,
             WithNetpoolTestPoolWorkerLifetime, TestInitializers, TestStdinBadfiledescriptor):
    _exclude(_cls, EXCLUDED)
    _exclude(_cls, NOT_POOL_TESTS)
    _cls.__module__ = __name__
del _cls
