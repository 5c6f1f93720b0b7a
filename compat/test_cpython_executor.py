"""CPython's own ``concurrent.futures`` tests, pointed at ``netpool.Executor``.

The test classes come from the standard library's ``test_concurrent_futures``, unchanged.
CPython builds its process variants as ``(TestMixin, ProcessPoolSpawnMixin, BaseTestCase)``,
the executor being the mixin's ``executor_type``; we do the same with a mixin whose
``executor_type`` is ``netpool.Executor``.

Where the module comes from: ``test.test_concurrent_futures`` if the running Python ships
it; otherwise Debian's ``libpython3.X-testsuite`` file
(``/usr/lib/python3.X/test/test_concurrent_futures.py``, what .ci/run installs), for the same
minor version. Workers import the test functions by name, so the file is imported under a
top-level name, ``cpython_test_concurrent_futures``, from a folder on ``sys.path`` (which
workers receive from the manager).

Where a test names the stdlib executor, the name is redirected for that test only: the
``python -c`` children get ``from netpool import Executor`` in place of
``from concurrent.futures import Executor`` (the name the test builds from
``executor_type.__name__``) and report the class they used.

``EXCLUDED`` lists every test left out and why: each reads CPython internals
(``_processes``, ``_broken``, ``_executor_manager_thread``...) or asserts the opposite of a
documented netpool behaviour (a dead worker breaks the pool). compat/DEVIATIONS.md
("netpool.Executor") lists the deviations, with the netpool test that shows each.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import unittest
from typing import Any
from unittest import mock

import pytest

import netpool

pytestmark = pytest.mark.timeout(120)

_NAME = "cpython_test_concurrent_futures"


def _find_source() -> "str | None":
    try:
        import test.test_concurrent_futures as mod  # a full CPython install
    except ImportError:
        path = "/usr/lib/python%d.%d/test/test_concurrent_futures.py" % sys.version_info[:2]
        return path if os.path.isfile(path) else None
    return getattr(mod, "__file__", None)


def _load() -> Any:
    source = _find_source()
    if source is None or os.path.basename(source) != "test_concurrent_futures.py":
        pytest.skip("this Python has no single-file test_concurrent_futures (Debian: apt-get "
                    "install libpython%d.%d-testsuite)" % sys.version_info[:2],
                    allow_module_level=True)
    folder = tempfile.mkdtemp(prefix="netpool-cpython-cf-")
    atexit.register(shutil.rmtree, folder, True)
    os.symlink(source, os.path.join(folder, _NAME + ".py"))
    sys.path.insert(0, folder)
    return importlib.import_module(_NAME)


cf = _load()

#: Tests left out, and why. Their behaviour, where netpool has it, is tested in
#: tests/integration/test_executor.py.
EXCLUDED = {
    # CPython internals
    "test_processes_terminate": "reads the private executor._processes",
    "test_context_manager_shutdown": "reads the private e._processes",
    "test_del_shutdown": "reads _processes, _call_queue and _executor_manager_thread",
    "test_shutdown_no_wait": "reads _processes, _call_queue and _executor_manager_thread",
    "test_saturation": "reads the private executor._processes",
    "test_idle_process_reuse_one": "reads the private executor._processes (netpool starts "
                                   "all workers at once, as the Pool)",
    "test_idle_process_reuse_multiple": "reads the private executor._processes",
    "test_max_tasks_per_child_defaults_to_spawn_context": "reads executor._mp_context",
    # Deliberate deviations (compat/DEVIATIONS.md)
    "test_killed_child": "a killed worker breaks ProcessPoolExecutor (BrokenProcessPool); "
                         "netpool reruns its task elsewhere by design",
    "test_max_tasks_per_child": "reads executor._processes; recycling is tested in "
                                "test_executor.py",
    "test_crash_at_task_unpickle": "a worker crash is rerun, then PoisonTaskError, "
                                   "never BrokenProcessPool",
    "test_crash_during_func_exec_on_worker": "as test_crash_at_task_unpickle",
    "test_exit_at_task_unpickle": "as test_crash_at_task_unpickle",
    "test_exit_during_func_exec_on_worker": "as test_crash_at_task_unpickle",
    "test_crash_during_result_pickle_on_worker": "as test_crash_at_task_unpickle",
    "test_exit_during_result_pickle_on_worker": "as test_crash_at_task_unpickle",
    "test_error_at_task_unpickle": "an argument that fails to unpickle fails its task with "
                                   "the error, without breaking the executor",
    "test_error_during_result_unpickle_in_result_handler":
        "a result that fails to unpickle fails its future with the error, no break",
    "test_exit_during_result_unpickle_in_result_handler":
        "SystemExit while unpickling a result fails that future only",
    "test_shutdown_deadlock": "expects BrokenProcessPool after a worker crash",
    "test_shutdown_deadlock_pickle": "reads _executor_manager_thread",
}

_IMPORT_STD = "from concurrent.futures import Executor"
_IMPORT_NETPOOL = "from netpool import Executor"
_REPORT = "\nprint('EXECUTOR-CLASS', type(t).__module__)\n"


def _injecting(original: Any) -> Any:
    """``assert_python_ok`` whose ``-c`` child uses netpool.Executor, and proves that it did."""

    def run(*args: str, **env: Any) -> Any:
        args = list(args)
        i = args.index("-c") + 1
        script = args[i]
        assert script.count(_IMPORT_STD) == 1, "the child script changed upstream"
        script = script.replace(_IMPORT_STD, _IMPORT_NETPOOL)
        script = script.replace("from test.test_concurrent_futures import",
                                f"from {_NAME} import")
        if "multiprocessing.set_start_method" in script:  # upstream forgot the import
            script = "import multiprocessing\n" + script
        args[i] = script
        env.setdefault("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
        env.setdefault("NETPOOL_QUIET", "1")
        rc, out, err = original(*args, **env)
        return rc, out, err

    return run


class NetpoolMixin(cf.ExecutorMixin):
    """CPython's ``ProcessPoolSpawnMixin`` with ``executor_type`` = netpool.Executor.

    ``ctx`` stays "spawn" so that tests asking for an ``mp_context`` get one; netpool ignores
    it (its workers are always fresh interpreters).
    """

    executor_type = netpool.Executor
    ctx = "spawn"
    worker_count = 2  # CPython's 5 (an upper bound in its tests) costs this shared CI time

    def setUp(self) -> None:
        patch = mock.patch.object(cf, "assert_python_ok", _injecting(cf.assert_python_ok))
        patch.start()
        self.addCleanup(patch.stop)
        super().setUp()
        # A stdlib future counts as running once it is queued for its processes, even
        # before they have started; a netpool one once a worker has it. Tests that expect
        # some work to have started right after submit (test_cancel_futures) therefore
        # start with every worker connected, as a stdlib pool's queue is there at once.
        rt = self.executor._rt
        deadline = time.monotonic() + 60
        while rt.worker_count() < self.worker_count:
            if time.monotonic() > deadline:
                self.fail("the executor's workers did not connect within 60 s")
            time.sleep(0.01)


def _compose(name: str, mixin: type) -> type:
    cls = type(name, (mixin, NetpoolMixin, cf.BaseTestCase), {})
    for test in EXCLUDED:
        if hasattr(cls, test):
            setattr(cls, test, None)  # unittest and pytest collect only callables
    cls.__module__ = __name__
    return cls


NetpoolInitializerTest = _compose("NetpoolInitializerTest", cf.InitializerMixin)
NetpoolShutdownTest = _compose("NetpoolShutdownTest", cf.ProcessPoolShutdownTest)
NetpoolWaitTest = _compose("NetpoolWaitTest", cf.WaitTests)
NetpoolAsCompletedTest = _compose("NetpoolAsCompletedTest", cf.AsCompletedTests)
NetpoolExecutorTest = _compose("NetpoolExecutorTest", cf.ProcessPoolExecutorTest)
NetpoolDeadlockTest = _compose("NetpoolDeadlockTest", cf.ExecutorDeadlockTest)


def test_every_cpython_process_pool_test_is_run_or_excluded() -> None:
    """A test added upstream, or an exclusion that no longer matches, is noticed."""
    composed = (NetpoolInitializerTest, NetpoolShutdownTest, NetpoolWaitTest,
                NetpoolAsCompletedTest, NetpoolExecutorTest, NetpoolDeadlockTest)
    seen = set()
    for cls, upstream in zip(composed, (cf.InitializerMixin, cf.ProcessPoolShutdownTest,
                                        cf.WaitTests, cf.AsCompletedTests,
                                        cf.ProcessPoolExecutorTest, cf.ExecutorDeadlockTest)):
        names = {n for n in dir(upstream) if n.startswith("test_")}
        seen |= names
        for n in names:
            assert (n in EXCLUDED) != callable(getattr(cls, n)), n
    assert set(EXCLUDED) <= seen, set(EXCLUDED) - seen
