"""Resuming with a journal: a manager SIGKILLed at a random point, then run again.

Each script's task appends ``RUN x`` to a log file every time it executes (the side effect
that counts executions), and prints what it gets. After the kill, the journal is read: the
tasks it holds must not execute in the second run, and the second run's output must equal an
uninterrupted run's.
"""

import collections
import os
import pickle
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from netpool._runtime.journal import Journal
from conftest import wait_for

pytestmark = pytest.mark.timeout(180)

N = 40

# The run's tag comes from the environment: a global would be part of the function's
# identity (the module-level values a __main__ function reads), and change it every run.
COMMON = textwrap.dedent("""
    import os, sys, time
    LOG = sys.argv[2]

    def work(x):
        fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{os.environ['RUN']} {x}\\n".encode())
        os.close(fd)
        time.sleep(0.03)
        return (x, x * x)
""")

SCRIPTS = {
    "map": COMMON + textwrap.dedent("""
        import netpool
        if __name__ == "__main__":
            with netpool.DistributedPool(2, journal=sys.argv[1]) as pool:
                print(pool.map(work, range({n}), chunksize=2), flush=True)
    """),
    "imap_unordered": COMMON + textwrap.dedent("""
        import netpool
        if __name__ == "__main__":
            with netpool.DistributedPool(2, journal=sys.argv[1]) as pool:
                got = []
                for r in pool.imap_unordered(work, range({n})):
                    got.append(r)
                    print("got", r, flush=True)
                print(sorted(got), flush=True)
    """),
    "executor": COMMON + textwrap.dedent("""
        import concurrent.futures
        import netpool
        if __name__ == "__main__":
            with netpool.Executor(2, journal=sys.argv[1]) as executor:
                futures = [executor.submit(work, x) for x in range({n})]
                got = []
                for f in concurrent.futures.as_completed(futures):
                    got.append(f.result())
                    print("got", f.result(), flush=True)
                print(sorted(got), flush=True)
    """),
    # Context tasks are instances of a __main__ class, whose cloudpickle bytes change in
    # every run: the journal must recognise them all the same.
    "manager": COMMON + textwrap.dedent("""
        import netpool

        def startup():
            return (1000,)

        class Job:
            def __init__(self, x):
                self.x = x
            def __call__(self, offset):
                x, y = work(self.x)
                return x, y + offset

        if __name__ == "__main__":
            m = netpool.Manager(output=os.path.join(os.path.dirname(LOG), "w%d.out"),
                                journal=sys.argv[1])
            m.add_worker(netpool.LocalWorker())
            m.add_worker(netpool.LocalWorker())
            ctx = m.get_context(startup)
            for x in range({n}):
                ctx.add_task(Job(x))
            got = []
            for r in ctx.get_results_unordered():
                got.append(r)
                print("got", r, flush=True)
            print(sorted(got), flush=True)
            m.close()
    """),
}

EXPECTED = {"map": [(x, x * x) for x in range(N)],
            "imap_unordered": [(x, x * x) for x in range(N)],
            "executor": [(x, x * x) for x in range(N)],
            "manager": [(x, x * x + 1000) for x in range(N)]}


def run(script, journal, log, tag):
    return subprocess.Popen([sys.executable, str(script), str(journal), str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, RUN=tag))


def executions(log, tag):
    if not os.path.exists(log):
        return []
    return [int(line.split()[1]) for line in open(log).read().splitlines()
            if line.split()[0] == tag]


def journaled_inputs(path):
    """The x of every task whose outcome the journal holds."""
    j = Journal(path, readonly=True)
    try:
        xs = set()
        for key in list(j.committed):
            status, payload, bufs = j.lookup(key)
            assert status == 0
            value = pickle.loads(payload, buffers=bufs)
            for x, _ in (value if isinstance(value, list) else [value]):
                xs.add(x)
        return xs
    finally:
        j.close()


@pytest.mark.parametrize("api,seed", [(api, seed) for api in SCRIPTS for seed in range(2)])
def test_sigkill_at_a_random_point_then_resume(tmp_path, api, seed):
    script = tmp_path / "prog.py"
    script.write_text(SCRIPTS[api].replace("{n}", str(N)))
    journal, log = tmp_path / "j.db", tmp_path / "exec.log"
    kill_after = random.Random(f"{api}{seed}").randrange(1, N - 4)

    first = run(script, journal, log, "1")
    wait_for(lambda: len(executions(log, "1")) >= kill_after or first.poll() is not None,
             timeout=90, what=f"{kill_after} executions")
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    done = journaled_inputs(journal)

    second = run(script, journal, log, "2")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert out.splitlines()[-1] == str(EXPECTED[api]), err
    again = executions(log, "2")
    assert not set(again) & done, f"journaled tasks ran again: {sorted(set(again) & done)}"
    assert set(again) | done == set(range(N))  # and what was not journaled did run
    assert len(again) == len(set(again))        # once


def test_an_uninterrupted_rerun_executes_nothing(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(SCRIPTS["manager"].replace("{n}", str(N)))
    journal, log = tmp_path / "j.db", tmp_path / "exec.log"
    outs = []
    for tag in ("1", "2"):
        out, err = run(script, journal, log, tag).communicate(timeout=120)
        outs.append(out.splitlines()[-1])
    assert outs == [str(EXPECTED["manager"])] * 2
    assert sorted(executions(log, "1")) == list(range(N)) and executions(log, "2") == []


POOL_SCRIPT = textwrap.dedent("""
    import multiprocessing, os, sys, time
    LOG = sys.argv[1]

    def work(x):
        with open(LOG, "a") as f:
            f.write(f"{os.environ['RUN']} {x}\\n")
        time.sleep(0.2)
        if x == 7:
            raise ValueError("seven")
        return x * 10

    if __name__ == "__main__":
        with multiprocessing.Pool(2) as pool:
            it = pool.imap(work, range(20))
            for x in range(20):
                try:
                    print(x, next(it), flush=True)
                except ValueError as exc:
                    print(x, "raised", exc, flush=True)
            results = []
            pool.map_async(work, [7], callback=results.append,
                           error_callback=lambda e: results.append(repr(e))).wait()
            print("callback", results, flush=True)
""")


def test_netpool_run_journal_killed_halfway_then_run_again(tmp_path):
    """The issue's check: no finished task executes again; the output is an uninterrupted run's."""
    script = tmp_path / "script.py"
    script.write_text(POOL_SCRIPT)
    journal, log = tmp_path / "j.db", tmp_path / "exec.log"
    expected = subprocess.run([sys.executable, str(script), str(tmp_path / "plain.log")],
                              capture_output=True, text=True, timeout=120, check=True,
                              env=dict(os.environ, RUN="0")).stdout

    def netpool_run(tag):
        return subprocess.Popen([sys.executable, "-m", "netpool", "run", "--journal",
                                 str(journal), str(script), str(log)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, RUN=tag))

    first = netpool_run("1")
    printed = []
    for line in first.stdout:  # killed halfway through the results
        printed.append(int(line.split()[0]))
        if len(printed) == 10:
            break
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    done = journaled_inputs_pool(journal)
    # Tasks that finish this slowly are on disk before the program sees them.
    assert set(printed) <= set(done)

    out, err = netpool_run("2").communicate(timeout=120)
    assert out == expected, err
    # The script calls work(7) twice (in the imap and the map_async), every other x once:
    # the rerun executes exactly the calls whose outcome was not journaled.
    calls = collections.Counter(range(20)) + collections.Counter([7])
    assert collections.Counter(executions(log, "2")) == calls - done
    assert done[7] >= 1  # a task's own exception is an outcome too
    j = Journal(journal, readonly=True)
    runs = j.summary()["runs"]
    j.close()
    assert len(runs) == 2 and runs[0][6] is None and runs[1][6] is not None  # killed, ended


def journaled_inputs_pool(path):
    """How many journaled calls of each x (chunks of one item: [x * 10], or raised)."""
    j = Journal(path, readonly=True)
    try:
        xs: collections.Counter = collections.Counter()
        for key in list(j.committed):
            status, payload, bufs = j.lookup(key)
            if status == 0:
                xs.update(v // 10 for v in pickle.loads(payload, buffers=bufs))
            else:
                assert b"seven" in payload  # the pickled ValueError, in the protocol's RAISED form
                xs[7] += 1
        return xs
    finally:
        j.close()


FLOOD = textwrap.dedent("""
    import sys
    import netpool

    def square(x):
        return x * x

    if __name__ == "__main__":
        with netpool.DistributedPool(2, journal=sys.argv[1]) as pool:
            for i, y in enumerate(pool.imap_unordered(square, range(20000))):
                print(y, flush=True)
""")


def test_no_printed_result_of_a_flood_of_tiny_tasks_is_unjournaled(tmp_path):
    """Results of tiny tasks wait up to a millisecond to share a commit: never on the
    program's side of it. Killed right after reading a line, everything printed is on disk."""
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    journal = tmp_path / "j.db"
    for stop_at in (200, 1000, 3000, 8000):
        first = subprocess.Popen([sys.executable, str(script), str(journal)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        printed = set()  # squares
        for line in first.stdout:
            printed.add(int(line))
            if len(printed) >= stop_at:
                first.send_signal(signal.SIGKILL)  # at once: the lines read so far count
                break
        first.communicate(timeout=30)
        assert len(printed) >= stop_at, "the flood ended before the kill"
        j = Journal(journal, readonly=True)
        try:
            kept = set()
            for key in list(j.committed):
                status, payload, bufs = j.lookup(key)
                kept.update(x for x in pickle.loads(payload, buffers=bufs))
        finally:
            j.close()
        missing = printed - kept  # imap_unordered's chunks are of one item: [x * x]
        assert not missing, f"{len(missing)} printed results not in the journal"


def test_a_bad_journal_stops_netpool_run_before_the_script(tmp_path):
    bad = tmp_path / "j.db"
    bad.write_text("not a journal\n")
    script = tmp_path / "script.py"
    script.write_text("print('the script ran')\n")
    out = subprocess.run([sys.executable, "-m", "netpool", "run", "--journal", str(bad),
                          str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not a netpool journal" in out.stderr
    assert "the script ran" not in out.stdout
    assert bad.read_text() == "not a journal\n"


DRAWS = textwrap.dedent("""
    import multiprocessing, random

    SCALE = None

    def init(scale, lock):
        global SCALE
        SCALE = scale

    def draw(_):
        return random.random() * SCALE  # not a function of its argument alone

    if __name__ == "__main__":
        lock = multiprocessing.Lock()
        for scale in (1, 1000):
            with multiprocessing.Pool(2, init, (scale, lock)) as pool:
                print(scale, pool.map(draw, [0] * 6, chunksize=1), flush=True)
""")


def test_identical_calls_and_initargs_are_inputs_of_their_own(tmp_path):
    """Six draws of a random number in each of two pools set up otherwise: all twelve run
    in the first run (identical calls are not merged, and the pools' initargs tell them
    apart), and the rerun replays each of them."""
    script = tmp_path / "draws.py"
    script.write_text(DRAWS)
    journal = tmp_path / "j.db"

    def netpool_run():
        out = subprocess.run([sys.executable, "-m", "netpool", "run", "--journal", str(journal),
                              str(script)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout

    first = netpool_run()
    draws = {int(line.split(" ", 1)[0]): eval(line.split(" ", 1)[1])
             for line in first.splitlines()}
    assert sorted(draws) == [1, 1000]
    assert all(len(set(values)) == 6 for values in draws.values()), first
    assert max(draws[1]) < 1 and not set(draws[1]) & set(draws[1000]), first
    assert netpool_run() == first  # replayed: random numbers cannot come out twice


def _init_value(value):
    global SHARED
    SHARED = value


def test_a_pool_whose_initargs_cannot_be_identified_is_not_journaled(tmp_path, caplog):
    import multiprocessing

    import netpool
    path = tmp_path / "j.db"
    with caplog.at_level("WARNING", logger="netpool"):
        with netpool.DistributedPool(1, _init_value, (multiprocessing.Value("i", 0),),
                                     journal=str(path)) as pool:
            assert pool.map(abs, [-1, -2]) == [1, 2]
    assert "initializer and initargs cannot be pickled" in caplog.text
    j = Journal(path, readonly=True)
    assert len(j) == 0  # its results could depend on the shared value
    j.close()
