"""The runtime's use of a journal, without processes: hits, leaders and followers."""

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


def test_identical_running_tasks_wait_for_the_first_and_share_its_outcome(tmp_path):
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    calls = []
    run = jt.admit(tasks(jt, [b"a", b"b", b"a", b"a"]), lambda *c: calls.append(c))
    assert [t.id for t in run] == [0, 1] and calls == []
    twins = jt.resolved(run[0], M.OK, b"A", [])
    assert [t.id for t in twins] == [2, 3]
    assert [t.id for t in jt.withdrawn(run[1])] == []  # a leader without twins
    # Recorded now: a later identical task comes from the journal, not from a worker.
    sink = Sink()
    sink._deliver = lambda *a: calls.append(a)
    assert jt.admit([Task(9, M.CALL, 1, b"a", [], sink)], lambda m, *a: m(*a)) == []
    assert calls == [(9, M.OK, b"A", [], "the journal")]
    jt.close()


def test_a_leader_that_ends_without_an_outcome_takes_its_twins_along(tmp_path):
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    run = jt.admit(tasks(jt, [b"a", b"a"]), None)
    assert [t.id for t in jt.withdrawn(run[0])] == [1]
    assert len(jt.journal) == 0  # nothing recorded: it runs again next time
    assert [t.id for t in jt.admit(tasks(jt, [b"a"], first=5), None)] == [5]  # a new leader
    jt.close()


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
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    jt.define(2, lambda x: x, "<lambda>")
    batch = [Task(0, M.CALL, 1, b"a", [], Sink()), Task(1, M.MAP, 1, b"b", [], Sink()),
             Task(2, M.CALL, 2, b"c", [], Sink())]
    assert jt.admit(batch, None) == batch
    for t, value in zip(batch, (b"A", b"B", b"C")):
        assert list(jt.resolved(t, M.OK, value, [])) == []
    delivered = []
    again = [Task(5, M.CALL, 1, b"b", [], Sink()), Task(6, M.MAP, 1, b"b", [], Sink()),
             Task(7, M.CALL, 1, b"c", [], Sink()), Task(8, M.CALL, 2, b"c", [], Sink())]
    for t in again:
        t.sink._deliver = lambda tid, status, payload, *rest: delivered.append((tid, payload))
    # Pending, then committed: the same answers either way.
    for _ in range(2):
        assert [t.id for t in jt.admit(again[:], lambda m, *a: m(*a))] == [5, 7]
        assert delivered == [(6, b"B"), (8, b"C")]
        for t in (again[0], again[2]):
            jt.withdrawn(t)
        delivered.clear()
        jt.end_of_round([], 0, final=True)
    jt.close()


def test_a_pending_outcome_is_found_under_its_own_function(tmp_path):
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    jt.define(2, lambda x: x, "<lambda>")
    first = [Task(0, M.CALL, 1, b"a", [], Sink()), Task(1, M.CALL, 2, b"a", [], Sink())]
    assert jt.admit(first, None) == first
    jt.resolved(first[0], M.OK, b"square's", [])
    jt.resolved(first[1], M.OK, b"lambda's", [])  # the later one in the pending batch
    assert jt.journal.pending == 2
    delivered = []
    sink = Sink()
    sink._deliver = lambda tid, status, payload, *rest: delivered.append(payload)
    assert jt.admit([Task(2, M.CALL, 1, b"a", [], sink)], lambda m, *a: m(*a)) == []
    assert delivered == [b"square's"]
    jt.close()


def test_without_a_journal_everything_runs_and_nothing_is_kept():
    jt = JournaledTasks(None)
    jt.define(1, square, "square")
    ts = tasks(jt, [b"a", b"a"])
    assert jt.admit(ts, None) == ts
    assert list(jt.resolved(ts[0], M.OK, b"A", [])) == [] and list(jt.withdrawn(ts[1])) == []
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
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, startup_a, "startup_a")
    jt.define(2, startup_b, "startup_b")

    def ctx(tid, blob, x, payload):
        return Task(tid, M.CONTEXT, blob, payload, [], Sink(), ident=Job(x))

    first = jt.admit([ctx(0, 1, 5, b"bytes of one run")], None)
    assert [t.id for t in first] == [0]
    # the same job, other bytes: a twin; another startup or another job: another task
    later = jt.admit([ctx(1, 1, 5, b"bytes of another run"), ctx(2, 2, 5, b"x"),
                      ctx(3, 1, 6, b"x"), ctx(4, 0, 5, b"x")], None)
    assert [t.id for t in later] == [2, 3, 4]
    assert [t.id for t in jt.resolved(first[0], M.OK, b"6", [])] == [1]
    jt.close()


def test_a_withdrawn_leader_hands_its_twins_on(tmp_path):
    """Executor.cancel takes a task back before it runs: its twins must still run."""
    import netpool
    from _tasks import slow_first_time

    path = tmp_path / "j.db"
    with netpool.DistributedPool(1, window=1, journal=str(path)) as pool:
        marker = str(tmp_path / "busy")
        busy = pool.apply_async(slow_first_time, (marker, "first"))
        from conftest import wait_for
        wait_for(lambda: os.path.exists(marker), 30, what="the first task to start")
        leader = pool.apply_async(square, (7,))
        twin = pool.apply_async(square, (7,))  # identical: waits for the leader
        rt = pool._rt
        # A submit may reach the core on the loop thread a little later: wait for it.
        wait_for(lambda: len(rt._sched.pending) == 1, 30, what="the leader to be pending")
        (leader_id,) = [tid for tid in rt._sched.pending]
        assert rt.withdraw([leader_id]) == {leader_id}
        os.kill(int(open(marker).read()), 9)  # end the long first task: a new worker comes
        assert twin.get(timeout=60) == 49
        assert busy.get(timeout=60) == "first"
        assert not leader.ready()


def test_a_keyboard_interrupt_is_not_an_outcome(tmp_path):
    # Ctrl-C reached the worker: the task did not end by itself. Its twins get what it got,
    # but nothing is recorded, so a rerun runs it rather than replaying the interruption.
    from netpool.worker.execute import encode_error
    jt = JournaledTasks(Journal(tmp_path / "j.db"))
    jt.define(1, square, "square")
    run = jt.admit(tasks(jt, [b"a", b"a", b"b"]), None)
    assert [t.id for t in jt.resolved(run[0], *encode_error(KeyboardInterrupt()))] == [1]
    assert list(jt.resolved(run[1], *encode_error(ValueError("the task's own")))) == []
    delivered = []
    again = tasks(jt, [b"a", b"b"], first=5)
    for t in again:
        t.sink._deliver = lambda tid, status, *rest: delivered.append((tid, status))
    assert [t.id for t in jt.admit(again, lambda m, *a: m(*a))] == [5]  # "a" runs again
    assert delivered == [(6, M.RAISED)]  # "b" raised a ValueError of its own: recorded
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
