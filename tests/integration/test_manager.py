"""The IMP.parallel API: every behaviour its own test suite pins down, and its flaws fixed."""

import os

import pytest

import netpool
from _tasks import SimpleTask, always_die, die_once, error_task, simple_func, slow_first_time
from conftest import pid_alive, wait_for

pytestmark = pytest.mark.timeout(60)


class Manager(netpool.Manager):
    heartbeat_timeout = 5.0  # as the original's test helper: broken startups do not hang


@pytest.fixture
def manager(tmp_path):
    made = []

    def make(n=1, **kw):
        m = Manager(output=str(tmp_path / "worker%d.out"), **kw)
        for _ in range(n):
            m.add_worker(netpool.LocalWorker())
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


# -- the original test suite ---------------------------------------------------------------

def test_simple(manager):
    c = manager(1).get_context()
    for i in range(10):
        c.add_task(SimpleTask(i))
    assert sorted(c.get_results_unordered()) == list(range(10))


def test_startup(manager):
    c = manager(1).get_context(SimpleTask(("foo", "bar")))
    c.add_task(simple_func)
    c.add_task(simple_func)
    assert list(c.get_results_unordered()) == [("foo", "bar"), ("foo", "bar")]


def test_startup_heartbeat(tmp_path):
    m = Manager(python="/path/does/not/exist", output=str(tmp_path / "w%d.out"))
    m.heartbeat_timeout = 0.1
    m.add_worker(netpool.LocalWorker())
    c = m.get_context()
    c.add_task(SimpleTask(1))
    with pytest.raises(netpool.NetworkError):
        list(c.get_results_unordered())
    m.close()


def test_startup_no_workers():
    m = Manager()
    c = m.get_context()
    c.add_task(SimpleTask(1))
    with pytest.raises(netpool.NoMoreWorkersError):
        list(c.get_results_unordered())
    m.close()


def test_pass_exceptions(manager):
    c = manager(1).get_context()
    c.add_task(SimpleTask(IndexError("test")))
    (r,) = list(c.get_results_unordered())
    assert isinstance(r, IndexError) and r.args == ("test",)


def test_raise_exceptions_once_and_not_rerun(manager):
    c = manager(1).get_context()
    c.add_task(error_task)
    c.add_task(SimpleTask(7))
    got, errors = [], []
    for _ in range(3):  # each call goes on where the last stopped
        try:
            got += list(c.get_results_unordered())
        except netpool.RemoteError as e:
            errors.append(e)
    assert got == [7] and len(errors) == 1
    e = errors[0]
    assert isinstance(e.exc, ValueError) and str(e.exc) == "Worker error"
    assert any("error_task" in line for line in e.traceback)
    assert "LocalWorker" in str(e.worker)
    assert "Remote traceback" in str(e)


def test_floats(manager):
    c = manager(1).get_context()
    c.add_task(SimpleTask(float("inf")))
    c.add_task(SimpleTask(float("nan")))
    r = list(c.get_results_unordered())
    assert len(r) == 2 and float("inf") in r


# -- beyond the original -------------------------------------------------------------------

def test_lambdas_closures_and_main_functions(manager):
    base = 100
    c = manager(2).get_context(lambda: (base,))
    for i in range(6):
        c.add_task(lambda b, i=i: b + i)
    assert sorted(c.get_results_unordered()) == list(range(100, 106))


def test_worker_serves_several_contexts(manager):
    m = manager(1)
    a = m.get_context(lambda: ("a",))
    b = m.get_context(lambda: ("b",))
    for _ in range(2):
        a.add_task(lambda s: s)
        b.add_task(lambda s: s)
        assert list(a.get_results_unordered()) == ["a"]
        assert list(b.get_results_unordered()) == ["b"]


def test_tasks_added_while_iterating(manager):
    c = manager(2).get_context()
    c.add_task(SimpleTask(0))
    seen = []
    for r in c.get_results_unordered():
        seen.append(r)
        if r < 5:
            c.add_task(SimpleTask(r + 1))
    assert seen == [0, 1, 2, 3, 4, 5]


def test_break_early_loses_nothing(manager):
    c = manager(2).get_context()
    for i in range(8):
        c.add_task(SimpleTask(i))
    first = []
    for r in c.get_results_unordered():
        first.append(r)
        break
    rest = list(c.get_results_unordered())
    assert sorted(first + rest) == list(range(8))


def test_worker_killed_mid_task_is_rerun_once(manager, tmp_path):
    m = manager(2)
    c = m.get_context()
    marker = str(tmp_path / "died")
    c.add_task(lambda: die_once(marker, "survived"))
    for i in range(6):
        c.add_task(SimpleTask(i))
    results = list(c.get_results_unordered())
    assert os.path.exists(marker)
    assert sorted(results, key=str) == sorted([0, 1, 2, 3, 4, 5, "survived"], key=str)


def test_sigkill_from_outside_mid_run(manager, tmp_path):
    m = manager(2)
    c = m.get_context()
    marker = str(tmp_path / "pid")
    c.add_task(lambda: slow_first_time(marker, "slow"))
    for i in range(10):
        c.add_task(SimpleTask(i))
    gen = c.get_results_unordered()
    got = [next(gen)]
    pid = int(wait_for(lambda: os.path.exists(marker) and open(marker).read(), what="marker"))
    os.kill(pid, 9)
    # The killed worker's task is rerun on the survivor, which finds the marker and returns.
    got += [r for r in gen]
    assert sorted(got, key=str) == sorted([*range(10), "slow"], key=str)
    # Its link closes as it exits, a moment before it is a zombie: on a loaded machine the
    # rerun can be done within that moment.
    wait_for(lambda: not pid_alive(pid), what="the killed worker to be gone")


def test_poison_task_fails_with_named_error(tmp_path):
    m = Manager(output=str(tmp_path / "w%d.out"))
    for _ in range(4):
        m.add_worker(netpool.LocalWorker())
    c = m.get_context()
    c.add_task(always_die)
    c.add_task(SimpleTask("fine"))
    got, errs = [], []
    while True:
        try:
            for r in c.get_results_unordered():
                got.append(r)
            break
        except netpool.PoisonTaskError as e:
            errs.append(e)
    m.close()
    assert got == ["fine"] and len(errs) == 1
    text = str(errs[0])
    assert text.count("SIGKILL") == 3, text
    import pickle
    again = pickle.loads(pickle.dumps(errs[0]))
    assert str(again) == text


def test_all_workers_dead_raises_no_more_workers(tmp_path):
    m = Manager(output=str(tmp_path / "w%d.out"))
    m.add_worker(netpool.LocalWorker())
    c = m.get_context()
    c.add_task(always_die)
    with pytest.raises(netpool.NoMoreWorkersError):
        list(c.get_results_unordered())
    m.close()


def test_worker_that_cannot_start_shows_its_output(tmp_path):
    m = Manager(python="sh -c 'echo cannot import netpool here >&2; exit 3'",
                output=str(tmp_path / "w%d.out"))
    m.add_worker(netpool.LocalWorker())
    c = m.get_context()
    c.add_task(SimpleTask(1))
    with pytest.raises(netpool.NetworkError) as info:
        list(c.get_results_unordered())
    text = str(info.value)
    assert "w0.out" in text and "cannot import netpool here" in text and "exit code 3" in text
    m.close()


def test_deprecated_names_warn():
    for name in ("Slave", "SlaveArray", "LocalSlave", "NoMoreSlavesError"):
        with pytest.warns(DeprecationWarning):
            getattr(netpool, name)()
    with pytest.warns(DeprecationWarning):
        netpool.SGEQsubSlaveArray(2, "-q all.q")
    with pytest.warns(DeprecationWarning):
        assert isinstance(netpool.SGEPESlaveArray(), netpool.SGEPEWorkerArray)
    m = netpool.Manager()
    with pytest.warns(DeprecationWarning):
        m.add_slave(netpool.LocalWorker())
    with pytest.warns(DeprecationWarning):
        assert netpool.NoMoreSlavesError is netpool.NoMoreWorkersError
    assert isinstance(netpool.LocalSlave.__mro__[1](), netpool.LocalWorker)


def test_except_no_more_slaves_error_catches_what_netpool_raises():
    # IMP.parallel programs written for the old name: workers run out, they catch it.
    import netpool.errors
    import netpool.manager
    for module in (netpool, netpool.errors, netpool.manager):
        with pytest.warns(DeprecationWarning, match="NoMoreWorkersError"):
            old = module.NoMoreSlavesError
        assert old is netpool.NoMoreWorkersError
    m = netpool.Manager()
    c = m.get_context()
    c.add_task(SimpleTask(1))
    try:
        with pytest.raises(old):  # no worker was added: NoMoreWorkersError at once
            list(c.get_results_unordered())
    finally:
        m.close()


def test_errors_share_one_base_and_pickle():
    import pickle
    for cls in (netpool.NetworkError, netpool.NoMoreWorkersError, netpool.WorkerStartError):
        e = pickle.loads(pickle.dumps(cls("x")))
        assert isinstance(e, netpool.Error) and str(e) == "x"
    r = netpool.RemoteError(ValueError("v"), ["line\n"], "w")
    r2 = pickle.loads(pickle.dumps(r))
    assert isinstance(r2.exc, ValueError) and r2.traceback == ["line\n"] and r2.worker == "w"


def test_timeouts_are_settable_with_fractions():
    m = netpool.Manager()
    m.connect_timeout = 0.5
    m.heartbeat_timeout = 0.25
    assert (m.connect_timeout, m.heartbeat_timeout) == (0.5, 0.25)


def _outcomes_within(ctx, seconds):
    """Every outcome of ``get_results_unordered``, raised ones included; fail if it hangs."""
    import threading
    got = []

    def drain():
        it = ctx.get_results_unordered()
        while True:
            try:
                got.append(next(it))
            except StopIteration:
                return
            except Exception as exc:  # the task's error; the iteration goes on
                got.append(exc)
                it = ctx.get_results_unordered()
    t = threading.Thread(target=drain, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"get_results_unordered hung; had yielded {got!r}"
    return got


def test_an_exception_the_manager_cannot_rebuild_is_a_remote_error(manager, tmp_path):
    """Needs a constructor argument, or a module only the worker has: never a hang."""
    from _tasks import raise_from_worker_only_module, raise_needs_arg
    folder = tmp_path / "worker-only"
    folder.mkdir()
    c = manager(1).get_context()
    c.add_task(raise_needs_arg)
    c.add_task(lambda: raise_from_worker_only_module(str(folder)))
    c.add_task(SimpleTask("after"))
    got = _outcomes_within(c, 30)
    assert "after" in got and len(got) == 3, got
    errs = {e.type_name: e for e in got if isinstance(e, netpool.RemoteError)}
    assert set(errs) == {"_tasks.NeedsArg", "only_on_the_worker.Private"}, got
    assert "cannot be rebuilt here" in str(errs["_tasks.NeedsArg"].exc)
    assert "raise NeedsArg" in "".join(errs["_tasks.NeedsArg"].traceback)
    assert "only_on_the_worker.Private: from a module the manager lacks" in str(
        errs["only_on_the_worker.Private"])
    assert "No module named 'only_on_the_worker'" in str(errs["only_on_the_worker.Private"].exc)


def _raise_holding_a_lock():
    import threading
    err = ValueError("holds a lock")
    err.lock = threading.Lock()
    raise err


def test_an_exception_that_does_not_pickle_on_the_worker_keeps_its_traceback(manager):
    """The Manager API says what was raised and where, though it could not travel."""
    c = manager(1).get_context()
    c.add_task(_raise_holding_a_lock)
    c.add_task(SimpleTask("after"))
    got = _outcomes_within(c, 30)
    assert "after" in got and len(got) == 2, got
    (e,) = [e for e in got if isinstance(e, netpool.RemoteError)]
    assert e.type_name == "builtins.ValueError"
    assert "could not be pickled there" in str(e.exc)
    assert "_raise_holding_a_lock" in "".join(e.traceback)
