"""What programs print of the pool's objects and errors, as the stdlib's print it.

Each case came from a program that printed something different under ``netpool run`` than
under ``python``: the remote traceback of a builtin called as the task, and the like.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import time
import multiprocessing
import multiprocessing.pool

import pytest

from netpool import DistributedPool

pytestmark = pytest.mark.timeout(60)


def test_a_builtin_that_raises_has_a_traceback_header():
    # pool.map(int, lines) with a bad line: no frame of the user's, but the stdlib's text
    # still starts with the header (above its own pool.py frames).
    with DistributedPool(1) as pool:
        for func, arg, last in ((int, "x", "ValueError: invalid literal for int() with base "
                                            "10: 'x'"),
                                (math.sqrt, -1, "ValueError: math domain error")):
            with pytest.raises(ValueError) as info:
                pool.map(func, [arg])
            text = str(info.value.__cause__)
            assert text.startswith('\n"""\nTraceback (most recent call last):\n'), text
            assert text.endswith(f'{last}\n"""'), text
            assert text.count("Traceback (most recent call last):") == 1, text
    with multiprocessing.Pool(1) as pool:  # the stdlib's, for comparison
        with pytest.raises(ValueError) as info:
            pool.map(int, ["x"])
        assert str(info.value.__cause__).startswith(
            '\n"""\nTraceback (most recent call last):\n')



def _both_ways(script, env=None) -> list:
    """``python script`` and ``netpool run script``, from the script's folder."""
    return [subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=script.parent,
                           env=env)
            for argv in ([sys.executable, str(script)],
                         [sys.executable, "-m", "netpool", "run", str(script)])]


def _twice(x=1, y=2):
    return x * y


@pytest.mark.parametrize("args, kwds, message", [
    (5, None, "_twice() argument after * must be an iterable, not int"),
    ((), 5, "_twice() argument after ** must be a mapping, not int"),
    ((), [("x", 1)], "_twice() argument after ** must be a mapping, not list"),
])
def test_apply_arguments_that_are_not_a_tuple_or_mapping(args, kwds, message):
    # apply_async(f, (5)) -- the missing comma of a one-tuple -- fails at get() with the
    # TypeError the worker's func(*args, **kwds) raises in the stdlib, named after func.
    name = f"{_twice.__module__}.{message}"
    with multiprocessing.Pool(1) as pool:
        with pytest.raises(TypeError, match=f"^{re.escape(name)}$"):
            pool.apply_async(_twice, args, kwds or {}).get(timeout=30)
    with DistributedPool(1) as pool:
        result = pool.apply_async(_twice, args, kwds)
        with pytest.raises(TypeError) as info:
            result.get(timeout=30)
        assert str(info.value) == name
        assert pool.apply(_twice, "a") == "aa" and pool.apply(_twice, (), {"y": 3}) == 3


def test_apply_with_kwds_none_fails_as_the_stdlibs():
    # The stdlib's default kwds is {}: kwds=None given reaches the worker's func(*args,
    # **kwds), and get() raises its TypeError (found by a survey program, issue 8).
    name = f"{_twice.__module__}._twice() argument after ** must be a mapping, not NoneType"
    for pool in (multiprocessing.Pool(1), DistributedPool(1)):
        with pool:
            for call in (lambda: pool.apply(_twice, (1,), None),
                         lambda: pool.apply_async(_twice, (1,), None).get(timeout=30),
                         lambda: pool.apply_async(_twice, (1,), kwds=None).get(timeout=30)):
                with pytest.raises(TypeError, match=f"^{re.escape(name)}$"):
                    call()
            assert pool.apply(_twice, (3,)) == 6 and pool.apply_async(_twice).get(30) == 2


WRONG_CALLS_PROGRAM = '''
import multiprocessing, multiprocessing.pool

if __name__ == "__main__":
    with multiprocessing.Pool(1) as pool:
        for call in (lambda: pool.map(abs), lambda: pool.imap(), lambda: pool.close(1),
                     lambda: pool.apply(), lambda: pool.starmap_async(abs),
                     lambda: pool.apply(abs, (1,), {}, None, None),
                     lambda: multiprocessing.pool.Pool.map(pool), lambda: pool.__exit__()):
            try:
                call()
            except TypeError as exc:
                print(exc)
        print(pool.map.__qualname__, pool.imap.__qualname__, pool.map.__module__)
'''


def test_a_wrong_call_of_a_pool_method_names_the_stdlibs_method(tmp_path):
    # `pool.map(f)` fails with "Pool.map() missing 1 required positional argument:
    # 'iterable'" under python; under netpool run it said "DistributedPool.map()".
    script = tmp_path / "wrong_calls.py"
    script.write_text(WRONG_CALLS_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].stdout.startswith("Pool.map() missing 1 required"), runs[0]
    assert (runs[1].returncode, runs[1].stdout) == (0, runs[0].stdout), runs[1].stderr
    assert DistributedPool.map.__qualname__ == "DistributedPool.map"  # its own name stays


RESULTS_PROGRAM = '''
import multiprocessing, multiprocessing.pool, re, typing
from multiprocessing.pool import ThreadPool, ApplyResult, AsyncResult, MapResult, IMapIterator

def f(x):
    return x

def hint(r: AsyncResult[int]) -> ApplyResult[int]:
    return r

class Wrapped(AsyncResult):  # parmap's _ParallelAsyncResult: made without a pool
    def __init__(self, result):
        self._result = result
    def get(self, timeout=None):
        return self._result.get(timeout)

if __name__ == "__main__":
    with multiprocessing.Pool(1) as p, ThreadPool(1) as t:
        for pool in (p, t):
            r = pool.apply_async(f, (1,))
            m = pool.map_async(f, [1])
            it = pool.imap(f, [1])
            print(re.sub("0x[0-9a-f]+", "0x?", repr(r)), isinstance(r, AsyncResult),
                  isinstance(r, ApplyResult), isinstance(m, MapResult), isinstance(m, ApplyResult),
                  isinstance(it, IMapIterator), isinstance(r, MapResult),
                  isinstance(pool, multiprocessing.pool.Pool), hint(r).get(), m.get(), list(it))
        print(issubclass(ThreadPool, multiprocessing.pool.Pool), typing.get_args(hint.__annotations__["r"]))
        print(type(MapResult(t, 1, 0, None, None)).__name__)
        w = Wrapped(p.apply_async(f, (2,)))
        print(w.get(), isinstance(w, AsyncResult), type(w).__mro__[1].__name__)
'''


def test_results_and_thread_pools_under_netpool_run_are_the_stdlib_kinds(tmp_path):
    # Programs print their AsyncResult objects (a common slip for .get()), check isinstance
    # against multiprocessing.pool's classes, and ask whether a ThreadPool is a Pool.
    script = tmp_path / "results.py"
    script.write_text(RESULTS_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.splitlines()[0].startswith(
        "<multiprocessing.pool.ApplyResult object at 0x?> True True True True True False True")
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout


THROUGH_THE_CLASS_PROGRAM = '''
import multiprocessing
from multiprocessing.pool import ApplyResult, AsyncResult, IMapIterator, IMapUnorderedIterator
from multiprocessing.pool import MapResult, ThreadPool

def f(x):
    return x * x

if __name__ == "__main__":
    with multiprocessing.Pool(2) as p, ThreadPool(1) as t:
        for pool in (p, t):
            r = pool.apply_async(f, (3,))
            print(ApplyResult.wait(r, 10), ApplyResult.ready(r), ApplyResult.successful(r),
                  AsyncResult.get(r, 10))
            m = pool.map_async(f, range(4))
            print(MapResult.get(m, 10), MapResult.ready(m), ApplyResult.successful(m))
            it = pool.imap(f, range(4))
            print(IMapIterator.next(it, 10), IMapIterator.__next__(it),
                  list(IMapIterator.__iter__(it)))
            print(sorted(IMapUnorderedIterator.__iter__(pool.imap_unordered(f, range(4)))))
'''


def test_result_methods_called_through_the_stdlib_classes(tmp_path):
    # A library that wraps a pool's results calls the stdlib's methods through the class
    # (IMapIterator.next(it), ApplyResult.get(r)): under netpool run, where those names are
    # stand-ins, each must run netpool's method on netpool's results (not the stdlib's, which
    # reads attributes netpool's results do not have) and the stdlib's on a ThreadPool's.
    script = tmp_path / "through.py"
    script.write_text(THROUGH_THE_CLASS_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.splitlines()[:2] == ["None True True 9", "[0, 1, 4, 9] True True"]
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout


PATCHED_CLASS_PROGRAM = '''
import multiprocessing
from multiprocessing.pool import ApplyResult, IMapIterator, ThreadPool

def f(x):
    return x * x

def wrapper(func):  # Stack Overflow 1408356's Ctrl-C recipe: a timeout on every next()
    def wrap(self, timeout=None):
        print("patched next", timeout)
        return func(self, timeout=timeout if timeout is not None else 1e6)
    return wrap

if __name__ == "__main__":
    IMapIterator.next = wrapper(IMapIterator.next)
    ApplyResult.doubled = lambda self: 2 * self.get()
    with multiprocessing.Pool(2) as p, ThreadPool(1) as t:
        for pool in (p, t):
            it = pool.imap(f, range(3))
            print(it.next(), it.next(5), list(it), pool.apply_async(f, (3,)).doubled())
'''


def test_a_patch_of_a_stdlib_result_class_reaches_netpools_results(tmp_path):
    # A program that patches multiprocessing.pool.IMapIterator.next patches every imap
    # result, netpool's too under netpool run (and a thread pool's, as there).
    script = tmp_path / "patched.py"
    script.write_text(PATCHED_CLASS_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.splitlines()[:3] == ["patched next None", "patched next 5",
                                               "0 1 [4] 18"]
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout


LOGGING_PROGRAM = '''
import logging, multiprocessing

def f(x):
    return x * x

if __name__ == "__main__":
    multiprocessing.log_to_stderr().setLevel(logging.INFO)
    pool = multiprocessing.Pool(2)
    print(pool.map(f, range(4)))
    pool.close()
    pool.join()
'''


def test_log_to_stderr_shows_each_worker_start_and_exit(tmp_path):
    # multiprocessing.log_to_stderr() at INFO: each stdlib worker logs "child process calling
    # self.run()", "process shutting down", "process exiting with exitcode 0".
    script = tmp_path / "logs.py"
    script.write_text(LOGGING_PROGRAM)
    runs = _both_ways(script)
    lines = [sorted(run.stderr.splitlines()) for run in runs]
    assert runs[0].returncode == runs[1].returncode == 0, runs[1].stderr
    assert "[INFO/ForkPoolWorker-2] child process calling self.run()" in lines[0]
    assert "[INFO/ForkPoolWorker-1] process exiting with exitcode 0" in lines[0]
    assert lines[1] == lines[0]
    assert runs[1].stdout == runs[0].stdout == "[0, 1, 4, 9]\n"


def _parent():
    parent = multiprocessing.parent_process()
    parent.join(0.01)  # returns: the parent is alive
    return parent.name, parent.pid, parent.is_alive()


def test_a_forked_workers_parent_process_is_the_pools_process_and_alive():
    # A stdlib worker's multiprocessing.parent_process() is the pool's process, whatever
    # os.getppid() says (for netpool's, its supervisor: a documented difference).
    with multiprocessing.Pool(1) as pool:
        assert pool.apply(_parent) == ("MainProcess", os.getpid(), True)
    with DistributedPool(1) as pool:
        assert pool.apply(_parent) == ("MainProcess", os.getpid(), True)
    for method in ("spawn", "forkserver"):  # fresh interpreters: the same, as the stdlib's
        with DistributedPool(1, context=multiprocessing.get_context(method)) as pool:
            assert pool.apply(_parent) == ("MainProcess", os.getpid(), True)


def _me():
    me = multiprocessing.current_process()
    return me.name.split("-")[0], type(me).__name__


def test_forkserver_workers_are_named_as_the_stdlib_names_them():
    ctx = multiprocessing.get_context("forkserver")
    for make in (ctx.Pool, lambda n: DistributedPool(n, context=ctx)):
        with make(1) as pool:
            assert pool.apply(_me) == ("ForkServerPoolWorker", "ForkServerProcess")
            assert [p.name.split("-")[0] for p in pool._pool] == ["ForkServerPoolWorker"]


def _slow_start_but_the_first(marks):
    try:
        os.close(os.open(marks + ".first", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        time.sleep(0.2)  # a slower start than the first worker's: the map is done by then
    with open(marks, "a") as f:
        f.write(multiprocessing.current_process().name + "\n")


def test_every_worker_runs_its_initializer_before_a_with_block_ends(tmp_path):
    # `with Pool(4, initializer=init) as p: p.map(f, [1])`: the stdlib forks all four
    # workers in Pool() and each runs init at once, so all four lines are printed even
    # though one worker did the map; terminate() lets ours finish starting too.
    marks = str(tmp_path / "marks")
    with DistributedPool(4, initializer=_slow_start_but_the_first, initargs=(marks,)) as pool:
        assert pool.map(abs, [-1]) == [1]
    with open(marks) as f:
        assert len(f.read().splitlines()) == 4


def test_every_worker_runs_its_initializer_before_a_dropped_pool_ends(tmp_path):
    # `pool = Pool(4, initializer=init)` made twice, the first dropped (a real program's
    # typo): the stdlib terminates a dropped pool through its finalizer, as terminate()
    # does, and its workers have run init by then; ours finish starting too.
    import gc
    import warnings
    marks = str(tmp_path / "marks")
    pool = DistributedPool(4, initializer=_slow_start_but_the_first, initargs=(marks,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del pool
        gc.collect()
    with open(marks) as f:
        assert len(f.read().splitlines()) == 4


ISTARMAP_PROGRAM = '''
import multiprocessing.pool as mpp
from multiprocessing import Pool

def istarmap(self, func, iterable, chunksize=1):  # the recipe, as it is copied around
    self._check_running()
    if chunksize < 1:
        raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))
    task_batches = mpp.Pool._get_tasks(func, iterable, chunksize)
    result = mpp.IMapIterator(self)
    self._taskqueue.put((self._guarded_task_generation(result._job, mpp.starmapstar,
                                                       task_batches), result._set_length))
    return (item for chunk in result for item in chunk)

mpp.Pool.istarmap = istarmap

def mul(a, b):
    if a == 7:
        raise ValueError("seven")
    return a * b

def pairs(n):
    for i in range(n):
        if i == 5:
            raise RuntimeError("the input broke")
        yield i, 2

if __name__ == "__main__":
    with Pool(2) as pool:
        print(list(pool.istarmap(mul, [(i, 2) for i in range(7)], chunksize=3)))
        print(list(pool.istarmap(mul, [])))
        for args, size in (([(i, 2) for i in range(9)], 1), (pairs(9), 2)):
            try:
                print(list(pool.istarmap(mul, args, chunksize=size)))
            except Exception as exc:
                print(type(exc).__name__, exc)
        it = pool.istarmap(mul, ((i, 3) for i in range(4)))
        print(next(it), list(it), len(pool._cache), pool.starmap(mul, [(1, 1)]))
'''


def test_the_istarmap_recipe_runs_under_netpool_run(tmp_path):
    # The much-copied recipe that adds istarmap to multiprocessing.pool.Pool through the
    # stdlib's private _taskqueue, _get_tasks, _guarded_task_generation and IMapIterator.
    script = tmp_path / "istarmap.py"
    script.write_text(ISTARMAP_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.splitlines()[:2] == ["[0, 2, 4, 6, 8, 10, 12]", "[]"]
    assert (runs[1].returncode, runs[1].stdout) == (0, runs[0].stdout), runs[1].stderr


BACKPRESSURE_PROGRAM = '''
import multiprocessing, time

def work(x):
    return x + 1

if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:
        results = []
        for i in range(40):
            while pool._taskqueue.qsize() > 4:  # the backpressure loop of the Q&A sites
                time.sleep(0.001)
            results.append(pool.apply_async(work, (i,)))
        print(sum(r.get(timeout=60) for r in results), pool._taskqueue.empty() in (True, False))
'''


def test_a_backpressure_loop_on_the_task_queue_size_runs(tmp_path):
    script = tmp_path / "backpressure.py"
    script.write_text(BACKPRESSURE_PROGRAM)
    out = subprocess.run([sys.executable, "-m", "netpool", "run", str(script)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "820 True\n"), out.stderr


def test_multiprocessing_pool_takes_the_stdlib_arguments_only_under_netpool_run(tmp_path):
    script = tmp_path / "ctor.py"
    script.write_text("import multiprocessing\n"
                      "for make in (multiprocessing.Pool, multiprocessing.get_context().Pool):\n"
                      "    try:\n"
                      "        make(1, context=None)\n"
                      "    except TypeError as exc:\n"
                      "        print(exc)\n"
                      "with multiprocessing.Pool(1, None, (), 2) as p:\n"
                      "    print(p.map(abs, [-2]))\n")
    runs = _both_ways(script)
    assert runs[0].stdout.count("BaseContext.Pool() got an unexpected keyword argument") == 2
    assert (runs[1].returncode, runs[1].stdout) == (0, runs[0].stdout), runs[1].stderr


OWN_QUEUES_PROGRAM = '''
import os, multiprocessing.pool

class OwnQueuesPool(multiprocessing.pool.Pool):
    # joblib's PicklingPool (the base of MemmappingPool, what Parallel(backend=
    # "multiprocessing") makes) overrides _setup_queues to pickle with reducers of its own.
    def _setup_queues(self):
        print("own queues")
        super()._setup_queues()

class Deeper(OwnQueuesPool):
    pass

def parent(_):
    return os.getppid()

if __name__ == "__main__":
    for cls in (OwnQueuesPool, Deeper):
        with cls(2) as p:
            print(p.map(parent, range(2)) == [os.getpid()] * 2,
                  isinstance(p, multiprocessing.pool.Pool), repr(p).split(" state")[0])
'''


def test_a_pool_subclass_with_queues_of_its_own_gets_the_stdlibs_pool(tmp_path):
    # A subclass that replaces the stdlib's queues cannot work on netpool's machinery, which
    # has none: under netpool run it is built on the stdlib's Pool, and behaves as there
    # (joblib's MemmappingPool hands large arrays to workers as read-only memmaps).
    script = tmp_path / "own_queues.py"
    script.write_text(OWN_QUEUES_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == ("own queues\nTrue True <__main__.OwnQueuesPool\n"
                              "own queues\nTrue True <__main__.Deeper\n")
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout


OWN_PROCESS_PROGRAM = '''
import multiprocessing, multiprocessing.pool

class NoDaemonProcess(multiprocessing.Process):
    daemon = property(lambda self: False, lambda self, value: None)

class OldRecipe(multiprocessing.pool.Pool):  # Stack Overflow 6974695, before Python 3.8
    Process = NoDaemonProcess

class NewRecipe(multiprocessing.pool.Pool):  # its Python 3.8+ form
    @staticmethod
    def Process(ctx, *args, **kwds):
        return NoDaemonProcess(*args, **kwds)

def daemonic(_):
    return multiprocessing.current_process().daemon

if __name__ == "__main__":
    with NewRecipe(2) as p:
        print(p.map(daemonic, range(2)), isinstance(p, multiprocessing.pool.Pool))
    try:
        OldRecipe(2)
    except AssertionError as e:
        print("AssertionError", e)
'''


def test_a_pool_subclass_with_a_process_of_its_own_gets_the_stdlibs_pool(tmp_path):
    # The nestable-pool recipe (Stack Overflow 6974695) makes workers with its own Process
    # (non-daemonic, so that tasks may start pools): only the stdlib's Pool calls it, so
    # under netpool run the subclass is built on the stdlib's Pool; the recipe's old form,
    # which Python 3.8 broke, fails there as under python.
    script = tmp_path / "own_process.py"
    script.write_text(OWN_PROCESS_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout == ("[False, False] True\n"
                              "AssertionError group argument must be None for now\n")
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout


POOL_FACTORY_PROGRAM = '''
import multiprocessing
from multiprocessing import Pool

import inspect, multiprocessing.pool
print(Pool)
print(type(multiprocessing.Pool).__name__, multiprocessing.Pool.__self__ is
      multiprocessing.context._default_context)
print(inspect.signature(Pool), inspect.signature(multiprocessing.get_context("spawn").Pool))
print(inspect.signature(multiprocessing.pool.Pool))
class MyPool(multiprocessing.pool.Pool):
    def __init__(self, n, *, verbose=False):
        super().__init__(n)
print(inspect.signature(MyPool), inspect.signature(multiprocessing.pool.ApplyResult),
      inspect.signature(multiprocessing.pool.IMapIterator))
try:
    class LoggingPool(Pool):  # Stack Overflow 6728236's recipe, written for Python 2
        pass
except TypeError as e:
    print("TypeError", e)
with Pool(1) as p:
    print(p.map(abs, [-1]))
'''


def test_multiprocessing_pool_is_a_bound_method_of_the_default_context(tmp_path):
    # ... with the stdlib's signatures (inspect.signature), the classes' too, and a program's
    # subclass its own.
    script = tmp_path / "factory.py"
    script.write_text(POOL_FACTORY_PROGRAM)
    runs = _both_ways(script)
    assert runs[0].returncode == 0, runs[0].stderr
    assert re.sub("0x[0-9a-f]+", "0x?", runs[0].stdout) == (
        "<bound method BaseContext.Pool of <multiprocessing.context.DefaultContext object "
        "at 0x?>>\nmethod True\n"
        "(processes=None, initializer=None, initargs=(), maxtasksperchild=None) "
        "(processes=None, initializer=None, initargs=(), maxtasksperchild=None)\n"
        "(processes=None, initializer=None, initargs=(), maxtasksperchild=None, context=None)\n"
        "(n, *, verbose=False) (pool, callback, error_callback) (pool)\n"
        "TypeError method expected 2 arguments, got 3\n[1]\n")
    assert runs[1].returncode == 0, runs[1].stderr
    assert re.sub("0x[0-9a-f]+", "0x?", runs[1].stdout) == re.sub(
        "0x[0-9a-f]+", "0x?", runs[0].stdout)


SPAWN_ORDER_PROGRAM = '''
import multiprocessing as mp
print("module loaded as", __name__)

def f(x):
    return x * 2

if __name__ == "__main__":
    for method in ("spawn", "forkserver"):
        print("before the", method, "pool")
        p = mp.get_context(method).Pool(1)
        print(p.map(f, range(2)))
        p.close()
        p.join()
'''


def test_what_the_parent_printed_comes_before_what_spawned_workers_print(tmp_path):
    # The stdlib flushes the parent's stdout before it starts any child, spawn and
    # forkserver included: its buffered lines come out first, even through a pipe.
    # Output is a pipe, block-buffered as by default (not under PYTHONUNBUFFERED).
    script = tmp_path / "spawn_order.py"
    script.write_text(SPAWN_ORDER_PROGRAM)
    runs = _both_ways(script, {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"})
    assert runs[0].returncode == 0, runs[0].stderr
    assert runs[0].stdout.startswith("module loaded as __main__\nbefore the spawn pool\n"
                                     "module loaded as __mp_main__\n"), runs[0].stdout
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout == runs[0].stdout


UNFLUSHED_PROGRAM = '''
from multiprocessing import Pool

def task(i):
    print("task", i)  # not flushed: a stdlib worker writes it when its buffer fills or it ends
    return i

if __name__ == "__main__":
    pool = Pool(2)
    pool.map(task, range(3))
    print("first map done", flush=True)
    pool.map(task, range(3, 6))
    print("second map done", flush=True)
    pool.close()
    pool.join()
    print("joined")
'''


def test_what_forked_workers_print_unflushed_comes_when_a_stdlib_workers_would(tmp_path):
    # Output piped (buffered): a stdlib worker's unflushed lines reach the pipe when it ends,
    # after what the parent flushed meanwhile. netpool's forked workers flushed after each
    # task, so the task lines came before "first map done" (survey of 6 Dec 2026).
    script = tmp_path / "unflushed.py"
    script.write_text(UNFLUSHED_PROGRAM)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for run in _both_ways(script, env=env):
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[:2] == ["first map done", "second map done"], run.stdout
        assert sorted(lines[2:8]) == [f"task {i}" for i in range(6)], run.stdout
        assert lines[8:] == ["joined"], run.stdout
