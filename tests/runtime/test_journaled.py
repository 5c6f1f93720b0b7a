"""The runtime's use of a journal, without processes: keys, occurrences and answers."""

import os

import pytest

from netpool._protocol import messages as M
from netpool._runtime.journaled import Journal, JournaledTasks
from netpool._runtime.tasks import Task

pytestmark = pytest.mark.timeout(60)


def square(x):
    return x * x


class Sink:
    pass


def tasks(jt, payloads, first=0, blob=1):
    return [Task(first + i, M.CALL, blob, p, [], Sink()) for i, p in enumerate(payloads)]


def another_run(path):
    """The journal at ``path`` as the next run of the program opens it (another process)."""
    from netpool._runtime import journal
    journal._program_runs.clear()
    return JournaledTasks(Journal(path))


def deliveries(ts, into):
    for t in ts:
        t.sink._deliver = lambda tid, status, payload, *rest: into.append((tid, payload))
    return ts


def rerun(path, payloads, first=10):
    """The next run of the program calls ``square`` on ``payloads``: the ids of the tasks
    that run, and ``(id, payload)`` of those the journal answers, in order."""
    jt = another_run(path)
    jt.define(1, square, "square")
    got = []
    run = jt.admit(deliveries(tasks(jt, payloads, first=first), got), lambda m, *a: m(*a))
    jt.close()
    return [t.id for t in run], got


def test_identical_calls_each_run_and_a_rerun_replays_each_in_turn(tmp_path):
    # A task whose result is not a function of its arguments alone (random numbers, side
    # effects) must run as often as it is called: identical calls are never merged.
    path = tmp_path / "j.db"
    jt = another_run(path)
    jt.define(1, square, "square")
    run = jt.admit(tasks(jt, [b"a", b"b", b"a", b"a"]), None)
    assert [t.id for t in run] == [0, 1, 2, 3]
    assert len({jt.key(t) for t in run}) == 4  # the first "a" has its key; the others theirs
    for t, value in zip(run[:3], (b"A0", b"B", b"A1")):  # the third "a" never finishes
        jt.resolved(t, M.OK, value, [])
    # In the same run, another identical call is another occurrence: it runs too.
    assert [t.id for t in jt.admit(tasks(jt, [b"a"], first=4), None)] == [4]
    jt.close()

    # The k-th "a" of the next run gets the k-th of this one: the third was never recorded.
    assert rerun(path, [b"a", b"a", b"a", b"b", b"b"]) == (
        [12, 14], [(10, b"A0"), (11, b"A1"), (13, b"B")])


def test_a_call_that_ends_without_an_outcome_frees_its_occurrence(tmp_path):
    path = tmp_path / "j.db"
    jt = another_run(path)
    jt.define(1, square, "square")
    first, second = jt.admit(tasks(jt, [b"a", b"a"]), None)
    key = jt.key(first)
    jt.withdrawn(first)
    assert len(jt.journal) == 0  # nothing recorded: it runs again next time
    third, = jt.admit(tasks(jt, [b"a"], first=5), None)  # the first occurrence, free again
    assert jt.key(third) == key != jt.key(second)
    jt.resolved(third, M.OK, b"A", [])
    jt.resolved(second, M.OK, b"A'", [])
    jt.close()
    assert rerun(path, [b"a", b"a"]) == ([], [(10, b"A"), (11, b"A'")])


def test_a_later_journal_of_the_same_process_continues_its_run(tmp_path):
    # ``netpool run --journal`` gives every pool of a script the same file: a second pool
    # calling what the first called makes another occurrence, which runs.
    path = tmp_path / "j.db"
    another_run(path).close()
    for first in (0, 10):
        jt = JournaledTasks(Journal(path))
        jt.define(1, square, "square")
        run = jt.admit(tasks(jt, [b"a"], first=first), None)
        assert [t.id for t in run] == [first]
        jt.resolved(run[0], M.OK, b"A%d" % first, [])
        jt.close()
    assert rerun(path, [b"a", b"a", b"a"], first=20) == ([22], [(20, b"A0"), (21, b"A10")])


def test_a_new_file_in_the_place_of_the_last_is_not_this_runs(tmp_path):
    # Deleted to start afresh and made again, a journal may get the same inode: what this
    # process took of the old file's occurrences must not count in the new one.
    path = tmp_path / "j.db"
    jt = another_run(path)
    jt.define(1, square, "square")
    for t in jt.admit(tasks(jt, [b"a", b"a", b"a"]), None):
        jt.resolved(t, M.OK, b"old", [])
    jt.close()
    os.remove(path)
    jt = JournaledTasks(Journal(path))
    jt.define(1, square, "square")
    first, second = jt.admit(tasks(jt, [b"a", b"a"]), None)
    key = jt.key(second)
    jt.resolved(first, M.OK, b"A", [])
    jt.resolved(second, M.OK, b"A'", [])
    assert key in jt.journal
    jt.close()
    assert rerun(path, [b"a", b"a"]) == ([], [(10, b"A"), (11, b"A'")])


def test_other_functions_kinds_and_unfingerprinted_callables_are_other_tasks(tmp_path):
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    jt.define(2, lambda x: x, "<lambda>")
    jt.define(3, (x for x in ()), "generator")  # cannot be pickled: never journaled
    mixed = tasks(jt, [b"a"]) + tasks(jt, [b"a"], first=1, blob=2) + [
        Task(2, M.MAP, 1, b"a", [], Sink()), Task(3, M.CALL, 3, b"a", [], Sink()),
        Task(4, M.CALL, 3, b"a", [], Sink())]
    assert [t.id for t in jt.admit(mixed, None)] == [0, 1, 2, 3, 4]
    jt.close()


def test_one_batch_of_several_kinds_and_functions_keys_each_task_by_its_own(tmp_path):
    # The fast loop of admission goes on through tasks of another kind or function: each
    # must land in its own function's table, whatever task came before it in the batch.
    path = tmp_path / "j.db"
    jt = another_run(path)
    jt.define(1, square, "square")
    jt.define(2, lambda x: x, "<lambda>")
    batch = [Task(0, M.CALL, 1, b"a", [], Sink()), Task(1, M.MAP, 1, b"b", [], Sink()),
             Task(2, M.CALL, 2, b"c", [], Sink()), Task(3, M.CALL, 1, b"d", [], Sink())]
    assert jt.admit(batch, None) == batch
    for t, value in zip(batch[:3], (b"A", b"B", b"C")):
        jt.resolved(t, M.OK, value, [])
    jt.close()
    # Read back by the next run: each under its own function and kind.
    jt = another_run(path)
    jt.define(1, square, "square")
    jt.define(2, lambda x: x, "<lambda>")
    got = []
    again = deliveries([Task(5, M.CALL, 1, b"b", [], Sink()), Task(6, M.MAP, 1, b"b", [], Sink()),
                        Task(7, M.CALL, 1, b"c", [], Sink()), Task(8, M.CALL, 2, b"c", [], Sink()),
                        Task(9, M.CALL, 1, b"a", [], Sink())], got)
    assert [t.id for t in jt.admit(again, lambda m, *a: m(*a))] == [5, 7]
    assert got == [(6, b"B"), (8, b"C"), (9, b"A")]
    jt.close()


def test_without_a_journal_everything_runs_and_nothing_is_kept():
    jt = JournaledTasks(None)
    jt.define(1, square, "square")
    ts = tasks(jt, [b"a", b"a"])
    assert jt.admit(ts, None) == ts
    jt.resolved(ts[0], M.OK, b"A", [])
    jt.withdrawn(ts[1])
    assert jt.due() == float("inf")
    later = [("sink", ())]
    assert jt.end_of_round(later, in_flight=1000) is later
    jt.close()


def committed(path, key):
    reader = Journal(path, readonly=True, register=False)
    try:
        return key in reader
    finally:
        reader.close()


def test_results_wait_for_their_commit_and_share_it_while_other_tasks_run(tmp_path, monkeypatch):
    from netpool._runtime import journaled
    # A hold long enough that a loaded machine cannot outlast it between two rounds (at the
    # real 1 ms, a descheduled test saw the first rounds committed: flaky, not wrong).
    monkeypatch.setattr(journaled, "HOLD_SECONDS", 60.0)
    path = tmp_path / "j.db"
    jt = JournaledTasks(Journal(path))
    jt.define(1, square, "square")
    ts = jt.admit(tasks(jt, [b"a", b"b", b"c", b"d"]), None)
    keys = [jt.key(t) for t in ts]
    assert jt.end_of_round([], in_flight=1000) == [] and jt.due() == float("inf")  # nothing waits

    # Other tasks are in flight: the round's sink calls are held, nothing is committed yet.
    jt.resolved(ts[0], M.OK, b"A", [])
    assert jt.end_of_round(["r0"], in_flight=1000) == []
    assert jt.due() < float("inf") and not committed(path, keys[0])
    jt.resolved(ts[1], M.OK, b"B", [])
    assert jt.end_of_round(["r1"], in_flight=1000) == []
    # Past the hold: both rounds' calls, in order, once both outcomes are on disk.
    monkeypatch.setattr(journaled, "HOLD_SECONDS", 0.0)
    assert jt.end_of_round(["x"], in_flight=1000) == ["r0", "r1", "x"]
    assert committed(path, keys[0]) and committed(path, keys[1])
    assert jt.due() == float("inf")
    monkeypatch.setattr(journaled, "HOLD_SECONDS", 60.0)

    # Nothing else in flight, or the loop's last round: committed and handed on at once.
    jt.resolved(ts[2], M.OK, b"C", [])
    assert jt.end_of_round(["r2"], in_flight=0) == ["r2"] and committed(path, keys[2])
    jt.resolved(ts[3], M.OK, b"D", [])
    assert jt.end_of_round(["r3"], in_flight=1000, final=True) == ["r3"] and committed(path, keys[3])

    # Never more held than is still under way: a lazy imap refills its window only as its
    # results are taken, so holding most of it would starve the workers.
    two = jt.admit(tasks(jt, [b"e", b"f"], first=5), None)
    jt.resolved(two[0], M.OK, b"E", [])
    assert jt.end_of_round(["r5"], in_flight=2) == []  # one held, two under way: hold
    jt.resolved(two[1], M.OK, b"F", [])
    assert jt.end_of_round(["r6"], in_flight=2) == ["r5", "r6"]  # two held, two: commit
    assert committed(path, jt.key(two[1]))

    # HOLD_OUTCOMES waiting commit at once, however busy.
    many = jt.admit(tasks(jt, [b"%d" % i for i in range(journaled.HOLD_OUTCOMES)], first=10),
                    None)
    out = []
    for i, t in enumerate(many):
        jt.resolved(t, M.OK, b"v", [])
        out += jt.end_of_round([i], in_flight=1000)
    assert out == list(range(journaled.HOLD_OUTCOMES)) and jt.journal.pending == 0
    jt.close()


def test_a_commit_in_the_middle_of_a_round_hands_on_at_once_what_it_covered(tmp_path,
                                                                           monkeypatch):
    from netpool._runtime import journaled
    monkeypatch.setattr(journaled, "HOLD_SECONDS", 60.0)
    monkeypatch.setattr(journaled, "BATCH_ROWS", 4)  # a commit once four outcomes wait
    path = tmp_path / "j.db"
    jt = JournaledTasks(Journal(path))
    jt.define(1, square, "square")
    calls: list = []  # the round's sink calls, as Commands.later
    jt.calls_made = lambda: len(calls)
    ts = jt.admit(tasks(jt, [b"%d" % i for i in range(5)]), None)
    keys = [jt.key(t) for t in ts]
    for t in ts[:2]:  # a round of two outcomes: held, other tasks are in flight
        calls.append(t.id)
        jt.resolved(t, M.OK, b"v", [])
    assert jt.end_of_round(calls, in_flight=1000) == []
    calls = []
    for t in ts[2:]:  # the next round: its second outcome commits all four, a fifth follows
        calls.append(t.id)
        jt.resolved(t, M.OK, b"v", [])
    assert committed(path, keys[3]) and not committed(path, keys[4])
    # What the commit covered goes now, in order; the fifth waits for its own commit.
    assert jt.end_of_round(calls, in_flight=1000) == [0, 1, 2, 3]
    assert jt.end_of_round([], in_flight=1000) == [] and jt.due() < float("inf")
    monkeypatch.setattr(journaled, "HOLD_SECONDS", 0.0)
    assert jt.end_of_round([], in_flight=1000) == [4] and committed(path, keys[4])
    jt.close()


class Job:
    def __init__(self, x):
        self.x = x

    def __call__(self, offset):
        return self.x + offset


def startup_a():
    return (1,)


def startup_b():
    return (2,)


def test_context_tasks_are_known_by_their_callable_and_their_startup(tmp_path):
    """Not by their payload bytes (which change every run for a __main__ class)."""
    path = tmp_path / "j.db"
    jt = another_run(path)
    jt.define(1, startup_a, "startup_a")
    jt.define(2, startup_b, "startup_b")

    def ctx(tid, blob, x, payload):
        return Task(tid, M.CONTEXT, blob, payload, [], Sink(), ident=Job(x))

    first = jt.admit([ctx(0, 1, 5, b"bytes of one run")], None)
    assert [t.id for t in first] == [0]
    jt.resolved(first[0], M.OK, b"6", [])
    jt.close()
    jt = another_run(path)
    jt.define(1, startup_a, "startup_a")
    jt.define(2, startup_b, "startup_b")
    # the same job, other bytes: answered; another startup or another job: another task
    later = [ctx(1, 1, 5, b"bytes of another run"), ctx(2, 2, 5, b"x"), ctx(3, 1, 6, b"x"),
             ctx(4, 0, 5, b"x")]
    got = []
    assert [t.id for t in jt.admit(deliveries(later, got), lambda m, *a: m(*a))] == [2, 3, 4]
    assert got == [(1, b"6")]
    jt.close()


def test_a_keyboard_interrupt_is_not_an_outcome(tmp_path):
    # Ctrl-C reached the worker: the task did not end by itself. Nothing is recorded, so a
    # rerun runs it rather than replaying the interruption.
    from netpool.worker.execute import encode_error
    path = tmp_path / "j.db"
    jt = another_run(path)
    jt.define(1, square, "square")
    run = jt.admit(tasks(jt, [b"a", b"a", b"b"]), None)
    jt.resolved(run[0], *encode_error(KeyboardInterrupt()))
    jt.resolved(run[1], *encode_error(ValueError("the task's own")))
    jt.resolved(run[2], *encode_error(ValueError("b's own")))
    jt.close()
    jt = another_run(path)
    jt.define(1, square, "square")
    delivered = []
    again = tasks(jt, [b"a", b"a", b"b"], first=5)
    for t in again:
        t.sink._deliver = lambda tid, status, *rest: delivered.append((tid, status))
    # The first "a" runs again; the second raised a ValueError of its own, as did "b".
    assert [t.id for t in jt.admit(again, lambda m, *a: m(*a))] == [5]
    assert delivered == [(6, M.RAISED), (7, M.RAISED)]
    jt.close()


def test_small_arguments_are_their_own_key_and_larger_ones_a_digest(tmp_path):
    from netpool._runtime.journaled import RAW_LIMIT
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    small, large = tasks(jt, [b"a" * RAW_LIMIT, b"a" * (RAW_LIMIT + 1)])
    ksmall, klarge = jt.key(small), jt.key(large)
    assert len(ksmall) == 16 + RAW_LIMIT and ksmall.endswith(b"a" * RAW_LIMIT)
    assert len(klarge) == 16  # never the length of a raw key: the two cannot meet
    run = jt.admit([small, large], None)
    assert run == [small, large]
    # The small one's key is kept split, its arguments' bytes in its function's table; the
    # large one's digest is in the table of digests.
    table, function, rest = small.journal
    assert rest is None and function[0] + small.payload == ksmall and table[small.payload] is small
    table, function, rest = large.journal
    assert function[0] == b"" and rest == klarge and table[klarge] is large
    jt.close()


class _WriteLock:
    """As tqdm's: a lock of each kind, for its bars to share across processes."""

    def __init__(self):
        import multiprocessing
        import threading
        self.locks = [multiprocessing.RLock(), threading.RLock()]


def test_a_pools_initializer_and_initargs_are_part_of_its_tasks_keys(tmp_path):
    import multiprocessing

    from netpool._runtime.journaled import environment_of

    def setup(*args):
        pass

    assert environment_of(None, (1,)) == b""  # the keys journals of no initializer had
    assert environment_of(setup, (1,)) == environment_of(setup, (1,)) != environment_of(
        setup, (2,)) != environment_of(square, (2,))
    # Locks and the like hold no data: by their type, wherever they are.
    assert environment_of(setup, (multiprocessing.Lock(),)) == environment_of(
        setup, (multiprocessing.Lock(),)) != environment_of(setup, (multiprocessing.RLock(),))
    assert environment_of(setup, (_WriteLock(),)) is not None
    assert environment_of(setup, (multiprocessing.Value("i", 0),)) is None  # data: unknown
    keys = []
    for environment in (b"", environment_of(setup, (1,)), environment_of(setup, (2,))):
        jt = JournaledTasks(Journal(tmp_path / "j.db"), environment)
        jt.define(1, square, "square")
        keys.append(jt.key(tasks(jt, [b"a"])[0]))
        jt.close()
    assert len(set(keys)) == 3
    jt = JournaledTasks(Journal(tmp_path / "j.db"), None)  # not journaled at all
    jt.define(1, square, "square")
    t, = tasks(jt, [b"a"])
    assert jt.admit([t], None) == [t] and t.journal is None
    jt.close()
