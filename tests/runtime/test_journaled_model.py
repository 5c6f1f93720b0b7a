"""The journal's bookkeeping against a model: random submissions, outcomes and withdrawals.

``JournaledTasks.admit`` takes a fast loop for the common case (small arguments of a known
function, new keys) and leaves it for the general one at the first task it does not cover;
this drives both, and every way out of the fast loop, with tasks of several functions and
kinds, small and large arguments, buffers, duplicates, exceptions, interruptions and
withdrawals, and checks each step against a dictionary of what must be: a key runs once at
a time, a recorded outcome answers its key, twins get their leader's outcome or run again,
and a reopened journal holds exactly what was recorded.
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


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_the_bookkeeping_keeps_to_the_model(steps):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "j.db")
        jt = JournaledTasks(Journal(path))
        for blob, fn in ((1, square), (2, double), (3, (x for x in ()))):
            jt.define(blob, fn, getattr(fn, "__name__", "generator"))
        ids = iter(range(10**6))
        got: dict = {}             # task id -> what reached its sink from the journal
        model_key = {}             # task id -> (kind, blob, args, bufs), None: not journaled
        recorded: dict = {}        # model key -> (status, payload, buffers)
        leaders: dict = {}         # model key -> the task running it
        followers: dict = {}       # model key -> task ids waiting for it
        running: list = []         # tasks handed to workers, in order
        n = 0

        def admit(batch: list) -> None:
            run = jt.admit(batch, lambda method, *a: method(*a))
            assert len(set(map(id, run))) == len(run)
            expected = []
            for t in batch:
                k = model_key[t.id]
                if k is None:
                    expected.append(t)
                elif k in recorded:
                    assert got.pop(t.id) == (t.id, *recorded[k], "the journal")
                elif k in leaders:
                    followers.setdefault(k, []).append(t.id)
                else:
                    leaders[k] = t
                    expected.append(t)
            assert run == expected and not got
            running.extend(run)

        for op in steps:
            if op[0] == "submit":
                batch = []
                for blob, kind, arg, with_bufs in op[1]:
                    tid = next(ids)
                    bufs = [b"buf"] if with_bufs else []
                    batch.append(Task(tid, kind, blob, ARGS[arg], bufs, Sink(got, tid)))
                    model_key[tid] = (kind, blob, arg, with_bufs) if blob in JOURNALED else None
                admit(batch)
            elif op[0] in ("resolve", "withdraw") and running:
                t = running.pop(op[1] % len(running))
                k = model_key[t.id]
                if op[0] == "resolve":
                    n += 1
                    result = outcome(op[2], n)
                    twins = jt.resolved(t, *result)
                    if k is not None and op[2] != "interrupted":
                        recorded[k] = (result[0], result[1], [bytes(b) for b in result[2]])
                else:
                    twins = jt.withdrawn(t)
                assert [w.id for w in twins] == (followers.pop(k, []) if k else [])
                if k is not None:
                    assert leaders.pop(k) is t
                if op[0] == "withdraw" and twins:
                    admit(list(twins))  # as the runtime does: one of them leads now
            elif op[0] == "round":
                jt.end_of_round([], len(running), final=True)
        jt.close()

        # Reopened, the journal holds exactly the outcomes recorded, each under its key.
        reader = JournaledTasks(Journal(path, readonly=True))
        for blob, fn in ((1, square), (2, double)):
            reader.define(blob, fn, fn.__name__)
        assert len(reader.journal) == len(recorded)
        for (kind, blob, arg, with_bufs), (status, payload, bufs) in recorded.items():
            probe = Task(-1, kind, blob, ARGS[arg], [b"buf"] if with_bufs else [], None)
            found = reader.journal.lookup(reader.key(probe))
            assert found is not None
            assert (found[0], found[1], [bytes(b) for b in found[2]]) == (status, payload, bufs)
        reader.close()
