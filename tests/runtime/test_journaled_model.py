"""The journal's bookkeeping against a model: random submissions, outcomes and withdrawals.

``JournaledTasks.admit`` takes a fast loop for the common case (small arguments of a known
function, new keys) and leaves it for the general one at the first task it does not cover;
this drives both, and every way out of the fast loop, with tasks of several functions and
kinds, small and large arguments, buffers, duplicates, exceptions, interruptions and
withdrawals, over two runs of a program, and checks each step against a model of what must
be (``Model``): identical calls each run as occurrences of their key, an occurrence recorded
by an earlier run answers the call that takes it, and a last run gets every recorded
outcome back, each once.
"""

import os
import tempfile

import pytest
from hypothesis import given, settings, strategies as st

from netpool._protocol import messages as M
from netpool._runtime.journaled import RAW_LIMIT, Journal, JournaledTasks
from netpool._runtime.tasks import Task
from netpool.worker.execute import encode_error

pytestmark = pytest.mark.timeout(300)

JOURNALED = (1, 2)  # blob ids whose function can be fingerprinted; 3 cannot


def square(x):
    return x * x


def double(x):
    return 2 * x


# Few values of each, so that keys meet: the same arguments under other functions and
# kinds, the same key twice in a batch, in flight and recorded.
# Mostly tasks the fast loop takes (small arguments, no buffers), so that it runs on through
# tasks of other kinds and functions before something sends it to the general one.
ARGS = [b"a", b"b", b"c", b"x" * (RAW_LIMIT + 1)]  # small (their own key), large (a digest)
task_spec = st.tuples(st.sampled_from((1, 1, 2, 3)), st.sampled_from((M.CALL, M.MAP)),
                      st.sampled_from((0, 0, 1, 1, 2, 3)), st.sampled_from((False,) * 4 + (True,)))
outcome_spec = st.sampled_from(("ok", "ok", "big", "bufs", "raised", "interrupted"))
step = st.one_of(
    st.tuples(st.just("submit"), st.lists(task_spec, min_size=1, max_size=8)),
    st.tuples(st.just("resolve"), st.integers(0, 50), outcome_spec),
    st.tuples(st.just("resolve"), st.integers(0, 50), outcome_spec),
    st.tuples(st.just("withdraw"), st.integers(0, 50)),
    st.tuples(st.just("round")))


def outcome(kind: str, n: int) -> tuple:
    """(status, payload, buffers) as a worker's RESULTS entry would give them."""
    if kind == "raised":
        return encode_error(ValueError(f"the task's own {n}"))
    if kind == "interrupted":
        return encode_error(KeyboardInterrupt())
    if kind == "big":
        return M.OK, b"%d:" % n + b"v" * 2000, []
    if kind == "bufs":
        return M.OK, b"%d" % n, [bytearray(b"buffer %d" % n)]
    return M.OK, b"value %d" % n, []


class Sink:
    def __init__(self, got: dict, tid: int) -> None:
        self._deliver = lambda *a: got.setdefault(tid, a)


class Model:
    """What the journal must do, key by key: the k-th identical call of a run is its key's
    k-th occurrence; an occurrence recorded by an earlier run answers it, else it runs. The
    first occurrence is free again when its task ends without an outcome (the others are
    numbered past)."""

    def __init__(self, old: dict) -> None:
        self.old = old            # (key, occurrence) -> outcome, of earlier runs
        self.now: dict = {}       # ... recorded by this run
        self.first = {k for k, i in old if i == 0}  # keys whose first occurrence is taken
        self.taken: dict = {}     # key -> occurrences taken, once met twice
        self.occurrence: dict = {}  # running task id -> (key, occurrence)

    def admit(self, tid: int, k: tuple) -> "tuple | None":
        """None: the task runs; else the outcome it is answered with."""
        if k not in self.first:
            self.first.add(k)
            self.occurrence[tid] = (k, 0)
            return None
        n = self.taken.get(k)
        if n is None:
            n = 0 if (k, 0) in self.old else 1
        self.taken[k] = n + 1
        if (k, n) in self.old:
            return self.old[(k, n)]
        self.occurrence[tid] = (k, n)
        return None

    def ended(self, tid: int, result: "tuple | None") -> None:
        k, n = self.occurrence.pop(tid)
        if result is None:
            if n == 0:
                self.first.discard(k)
        else:
            self.now[(k, n)] = result


def run_steps(path: str, steps: list, old: dict, ids, check: bool = False) -> dict:
    """One run of the program over the journal at ``path``; returns what it recorded.
    ``check``: at its end, call again every occurrence recorded so far."""
    from netpool._runtime import journal
    journal._program_runs.clear()  # another process
    jt = JournaledTasks(Journal(path))
    for blob, fn in ((1, square), (2, double), (3, (x for x in ()))):
        jt.define(blob, fn, getattr(fn, "__name__", "generator"))
    model = Model(old)
    got: dict = {}             # task id -> what reached its sink from the journal
    model_key = {}             # task id -> (kind, blob, args, bufs), None: not journaled
    running: list = []         # tasks handed to workers, in order
    n = 0

    def admit(batch: list) -> None:
        run = jt.admit(batch, lambda method, *a: method(*a))
        assert len(set(map(id, run))) == len(run)
        expected = []
        for t in batch:
            k = model_key[t.id]
            answer = None if k is None else model.admit(t.id, k)
            if answer is None:
                expected.append(t)
            else:
                assert got.pop(t.id) == (t.id, *answer, "the journal")
        assert run == expected and not got
        running.extend(run)

    def submit(specs: list) -> None:
        batch = []
        for blob, kind, arg, with_bufs in specs:
            tid = next(ids)
            bufs = [b"buf"] if with_bufs else []
            batch.append(Task(tid, kind, blob, ARGS[arg], bufs, Sink(got, tid)))
            model_key[tid] = (kind, blob, arg, with_bufs) if blob in JOURNALED else None
        admit(batch)

    for op in steps:
        if op[0] == "submit":
            submit(op[1])
        elif op[0] in ("resolve", "withdraw") and running:
            t = running.pop(op[1] % len(running))
            k = model_key[t.id]
            if op[0] == "resolve":
                n += 1
                result = outcome(op[2], n)
                jt.resolved(t, *result)
                kept = None if op[2] == "interrupted" else (
                    result[0], result[1], [bytes(b) for b in result[2]])
            else:
                jt.withdrawn(t)
                kept = None
            if k is not None:
                model.ended(t.id, kept)
        elif op[0] == "round":
            jt.end_of_round([], len(running), final=True)
    if check:  # every occurrence recorded so far, each answered in turn
        for k in sorted({k for k, _ in old}):
            submit([(k[1], k[0], k[2], k[3])] * (1 + max(i for kk, i in old if kk == k)))
    jt.close()
    return model.now


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=30), st.lists(step, max_size=30))
def test_the_bookkeeping_keeps_to_the_model(first_run, second_run):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "j.db")
        ids = iter(range(10**6))
        recorded: dict = {}
        for steps in (first_run, second_run):
            recorded.update(run_steps(path, steps, dict(recorded), ids))
        run_steps(path, [], recorded, ids, check=True)
        reader = Journal(path, readonly=True)
        assert len(reader) == len(recorded)  # each occurrence under a key of its own
        reader.close()
